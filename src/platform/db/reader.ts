import { createHash } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';

export type Row = Record<string, unknown>;

/**
 * The hot read path: plain parameterised SQL (`?` placeholders), prepared once and reused, run
 * outside any transaction. Kysely stays the way to write everything else; this exists because
 * building, compiling and preparing a query per request costs several times the query itself.
 * On SQLite it reads through its own read-only connection (WAL lets it read the last committed
 * state while the writer works), so it never sees another request's open transaction.
 */
export interface RawReader {
  all(sql: string, params: readonly unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

const MAX_STATEMENTS = 1000;

/** A bounded cache of prepared statements keyed by SQL text. */
export function statementCache<S>(prepare: (sql: string) => S): (sql: string) => S {
  const cache = new Map<string, S>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = prepare(sql);
      if (cache.size >= MAX_STATEMENTS) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

export function registerSqliteFunctions(db: SqliteDatabase.Database): void {
  db.function('ulower', { deterministic: true }, (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value));
}

export function sqliteReader(file: string): RawReader {
  const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // Reads go through memory-mapped pages and a larger cache: no read() syscall and copy per page.
  db.pragma('mmap_size = 268435456');
  db.pragma('cache_size = -65536');
  registerSqliteFunctions(db);
  const prepare = statementCache((sql) => db.prepare(sql));
  return {
    all: async (sql, params) => prepare(sql).all(...params) as Row[],
    close: async () => void db.close(),
  };
}

/** Writer-connection reads, for `:memory:` databases that cannot have a second connection. */
export function sqliteSameConnectionReader(prepare: (sql: string) => SqliteDatabase.Statement): RawReader {
  return { all: async (sql, params) => prepare(sql).all(...params) as Row[], close: async () => undefined };
}

export function postgresReader(pool: pg.Pool): RawReader {
  const texts = new Map<string, { name: string; text: string }>();
  return {
    async all(sql, params) {
      let query = texts.get(sql);
      if (!query) {
        let n = 0;
        // Named queries are prepared once per connection by pg.
        query = { name: `r_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`, text: sql.replace(/\?/g, () => `$${++n}`) };
        if (texts.size < MAX_STATEMENTS) texts.set(sql, query);
      }
      return (await pool.query({ ...query, values: params as unknown[] })).rows as Row[];
    },
    close: async () => undefined, // the pool is closed with Kysely
  };
}
