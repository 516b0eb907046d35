import { statementName } from './pg-prepared.js';
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

/** A SQLite reader whose reads share one snapshot per turn of the event loop (see sqliteReader). */
export interface SqliteReader extends RawReader {
  /** Ends the shared snapshot: call before every statement of this process's writer connection. */
  release(): void;
}

/**
 * Reads within one turn of the event loop share one read transaction. A statement outside a
 * transaction begins and ends one of its own, and on a WAL database that costs two fcntl locks on
 * the WAL index and an fstat: 7 of the 9 µs a by-id read takes in a loop (strace, bench/README.md).
 * The shared snapshot ends at the end of the turn (setImmediate) and before any statement of this
 * process's writer (`release`), so a read never misses a commit this process made; another
 * process's commit is seen from the next turn, as if the read had come a moment earlier.
 */
export function sqliteReader(file: string): SqliteReader {
  const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // Reads go through memory-mapped pages and a larger cache: no read() syscall and copy per page.
  db.pragma('mmap_size = 268435456');
  db.pragma('cache_size = -65536');
  registerSqliteFunctions(db);
  const prepare = statementCache((sql) => rowsOf(db.prepare(sql)));
  const begin = db.prepare('begin');
  const end = db.prepare('commit');
  let open = false;
  const release = () => {
    if (!open) return;
    open = false;
    if (db.inTransaction) end.run();
  };
  return {
    all: async (sql, params) => {
      if (!open) {
        begin.run();
        open = true;
        setImmediate(release);
      }
      return prepare(sql)(params);
    },
    release,
    close: async () => {
      release();
      db.close();
    },
  };
}

/**
 * Runs a read and builds its rows with a function generated for the statement's columns. better-sqlite3
 * builds each row by setting one looked-up key after another; a literal of the columns gives every row
 * one shape (monomorphic reads downstream) and costs 1.5 µs instead of 2.9 for a 14-column row.
 */
function rowsOf(stmt: SqliteDatabase.Statement): (params: readonly unknown[]) => Row[] {
  stmt.raw(true);
  const columns = stmt.columns().map((c) => c.name);
  // Column names come from our own SQL; JSON.stringify quotes them as safe property keys.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const toRow = new Function('v', `return {${columns.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(', ')}};`) as (values: unknown[]) => Row;
  return (params) => {
    const values = stmt.all(...params) as unknown[][];
    const rows = new Array<Row>(values.length);
    for (let i = 0; i < values.length; i++) rows[i] = toRow(values[i]);
    return rows;
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
        query = { name: statementName('r', sql), text: sql.replace(/\?/g, () => `$${++n}`) };
        if (texts.size < MAX_STATEMENTS) texts.set(sql, query);
      }
      return (await pool.query({ ...query, values: params as unknown[] })).rows as Row[];
    },
    close: async () => undefined, // the pool is closed with Kysely
  };
}
