import { sql, type Kysely, type ColumnDefinitionBuilder, type CreateTableBuilder, type Expression, type RawBuilder, type SqlBool } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/**
 * Everything that differs between SQLite and PostgreSQL lives here, so repositories stay
 * dialect-free. Timestamps are stored as epoch milliseconds (BIGINT) and JSON as text on both.
 */
export interface SqlDialect {
  readonly name: DialectName;
  /** Value to bind for a boolean column. */
  bool(value: boolean): unknown;
  /** Adds an auto-generated integer primary key column. */
  addIdColumn<T extends string>(table: CreateTableBuilder<T, never>, column?: string): CreateTableBuilder<T, never>;
  /** Whether row locks with SKIP LOCKED exist (job claiming across processes). */
  readonly skipLocked: boolean;
  /**
   * Whether INSERT/UPDATE/DELETE may sit in a WITH clause (PostgreSQL): several writes then travel as
   * one statement, one round trip instead of one per write.
   */
  readonly dataModifyingCtes: boolean;
  isUniqueViolation(error: unknown): boolean;
  isForeignKeyViolation(error: unknown): boolean;
  /** Case-insensitive substring match that also folds Cyrillic (SQLite's LIKE folds ASCII only). */
  containsIgnoreCase(column: Expression<unknown>, term: string): RawBuilder<SqlBool>;
  /**
   * Inside a transaction: waits until no other transaction holds the lock `name`, and holds it until
   * commit. PostgreSQL: an advisory transaction lock. SQLite: nothing to do, a process has one
   * connection and transactions on it already run one at a time (and one process owns the file).
   */
  lockForTransaction(trx: Kysely<any>, name: string): Promise<void>;
  /**
   * Inside a transaction of derived data (recomputable from committed input): its commit need not wait
   * for the log flush. PostgreSQL: `synchronous_commit = off` for this transaction; a later ordinary
   * commit flushes it too. SQLite: nothing (WAL with synchronous=NORMAL does not flush per commit).
   */
  skipCommitFlush(trx: Kysely<any>): Promise<void>;
  /**
   * `column IN (ids)` for a long list of integer ids, as one parameter whatever the length, so the
   * statement is parsed and planned once: an array (`= any($1)`) on PostgreSQL, a JSON array read by
   * json_each on SQLite.
   */
  idIn(column: string, ids: readonly number[]): RawBuilder<SqlBool>;
  /** How many ids one idIn() should carry (bounds the rows one statement reads). */
  readonly idListChunk: number;
  /** Placeholder for the n-th (1-based) parameter of hand-built SQL: `?` or `$n`. */
  placeholder(n: number): string;
}

/** Escapes LIKE wildcards so user input matches literally. */
function likePattern(term: string): string {
  return `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const sqlite: SqlDialect = {
  name: 'sqlite',
  bool: (value) => (value ? 1 : 0),
  addIdColumn: (table, column = 'id') =>
    table.addColumn(column, 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement()),
  skipLocked: false,
  dataModifyingCtes: false,
  isUniqueViolation: (e) => codeOf(e) === 'SQLITE_CONSTRAINT_UNIQUE' || codeOf(e) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  // ON DELETE RESTRICT reports through SQLite's trigger machinery, hence the second code.
  isForeignKeyViolation: (e) =>
    codeOf(e) === 'SQLITE_CONSTRAINT_FOREIGNKEY' || (codeOf(e) === 'SQLITE_CONSTRAINT_TRIGGER' && /FOREIGN KEY/.test(String((e as Error).message))),
  // ulower() is registered on every SQLite connection (connect.ts): a Unicode-aware lower().
  containsIgnoreCase: (column, term) => sql<SqlBool>`ulower(${column}) like ${likePattern(term)} escape '\\'`,
  lockForTransaction: async () => {},
  skipCommitFlush: async () => {},
  // One JSON text parameter instead of a placeholder per id: the statement text is the same whatever
  // the count (so it is prepared once), and compiling it no longer walks one node per id.
  idIn: (column, ids) => sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(ids)}))`,
  placeholder: () => '?',
  idListChunk: 10_000,
};

const postgres: SqlDialect = {
  name: 'postgres',
  bool: (value) => value,
  addIdColumn: (table, column = 'id') =>
    table.addColumn(column, 'bigint', (c: ColumnDefinitionBuilder) => c.primaryKey().generatedByDefaultAsIdentity()),
  skipLocked: true,
  dataModifyingCtes: true,
  isUniqueViolation: (e) => codeOf(e) === '23505',
  isForeignKeyViolation: (e) => codeOf(e) === '23503',
  containsIgnoreCase: (column, term) => sql<SqlBool>`lower(${column}) like ${likePattern(term)} escape '\\'`,
  skipCommitFlush: async (trx) => {
    await sql`set local synchronous_commit = off`.execute(trx);
  },
  lockForTransaction: async (trx, name) => {
    await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(trx);
  },
  idIn: (column, ids) => sql<SqlBool>`${sql.ref(column)} = any(${[...ids]}::bigint[])`,
  placeholder: (n) => `$${n}`,
  idListChunk: 10_000,
};

export function dialectFor(name: DialectName): SqlDialect {
  return name === 'sqlite' ? sqlite : postgres;
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}
