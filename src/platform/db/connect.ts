import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { dialectFor, type SqlDialect } from './dialect.js';
import { offerDirect, type DirectSqlite } from './direct.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startSqliteCheckpointer } from './sqlite-checkpointer.js';
import { listenPg, type PgListener, type PgListenOptions } from './pg-listener.js';
import { namePreparedStatements } from './pg-prepared.js';
import { postgresReader, registerSqliteFunctions, sqliteReader, sqliteSameConnectionReader, statementCache, type RawReader } from './reader.js';

// BIGINT holds epoch-millisecond timestamps and ids: safe as JS numbers up to 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = Kysely<any>;

export interface Database {
  readonly db: Db;
  readonly dialect: SqlDialect;
  /** Prepared, cached reads of committed data for hot paths (see reader.ts). */
  readonly read: RawReader;
  /** Where the data lives, with any password removed: safe to log. */
  readonly description: string;
  /** PostgreSQL only: LISTEN on a dedicated connection of its own, reconnecting until closed (pg-listener.ts). */
  readonly listen?: (options: PgListenOptions) => PgListener;
  close(): Promise<void>;
}

export interface OpenOptions {
  poolSize?: number;
  cwd?: string;
  /** Trouble in background database work (SQLite's WAL checkpoints) that the caller should log. */
  onBackgroundError?: (message: string) => void;
}

export function openDatabase(url: string, options: OpenOptions = {}): Database {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, options.poolSize ?? 10);
  if (url.startsWith('sqlite:')) return openSqlite(resolve(options.cwd ?? process.cwd(), url.slice('sqlite:'.length)), options.onBackgroundError);
  throw new Error(`database.url must start with sqlite: or postgres:// (got "${redact(url)}")`);
}

function openSqlite(file: string, onBackgroundError?: (message: string) => void): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  // WAL + NORMAL survives a process crash (kill -9); only an OS crash may drop the last commits.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Statement journals (a savepoint's undo pages: group commit opens one per member) stay in memory.
  // By default one spills to a temp file past 64 KiB, and then every page a member first touches costs
  // a pwrite (measured: the hub's busiest syscall under load).
  sqlite.pragma('temp_store = MEMORY');
  registerSqliteFunctions(sqlite);
  // Checkpoints happen in a worker thread (see sqlite-checkpointer.ts), not inside the hub's commits.
  const checkpointer = file === ':memory:' ? undefined : startSqliteCheckpointer(file, 500, onBackgroundError);
  if (checkpointer) sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
  // Kysely prepares every statement afresh; reusing them by SQL text saves a large share of each query.
  // Safe because Kysely runs one statement at a time on this connection.
  const prepare = statementCache((sql) => sqlite.prepare(sql));
  const snapshotReader = file === ':memory:' ? undefined : sqliteReader(file);
  const read = snapshotReader ?? sqliteSameConnectionReader(prepare);
  // Every writer statement ends the reader's shared snapshot first, so reads see what was just written.
  const release = snapshotReader ? snapshotReader.release : () => undefined;
  const writerPrepare = (sql: string) => {
    release();
    return prepare(sql);
  };
  const database = { prepare: writerPrepare, close: () => sqlite.close() } as unknown as SqliteDatabase.Database;
  const db = new Kysely({ dialect: new SqliteDialect({ database }) });
  offerDirect(db, { prepare: writerPrepare as DirectSqlite['prepare'] });
  return {
    db,
    dialect: dialectFor('sqlite'),
    read,
    description: `sqlite:${file}`,
    close: async () => {
      await checkpointer?.stop();
      await read.close();
      await db.destroy();
    },
  };
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  namePreparedStatements(pool);
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  // keepAlive: a listening connection only reads, so without it a silently lost peer would go unnoticed.
  const listen = (options: PgListenOptions) => listenPg(() => new pg.Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 10_000, application_name: 'conveyor-listener' }), options);
  return { db, dialect: dialectFor('postgres'), read: postgresReader(pool), description: redact(url), listen, close: () => db.destroy() };
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
