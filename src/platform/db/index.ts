export { openDatabase, redact, type Db, type Database, type OpenOptions } from './connect.js';
export type { RawReader, Row as RawRow } from './reader.js';
export { dialectFor, type SqlDialect, type DialectName } from './dialect.js';
export { migrateToLatest, type ModuleMigration, type MigrationOutcome } from './migrate.js';
export { createGroupCommit, type GroupCommit } from './group-commit.js';
export { insertIf } from './insert-if.js';
export { execute } from './direct.js';
export { rowsInsert, toRaw, type PlainSql } from './plain-sql.js';
export type { PgListener, PgListenOptions } from './pg-listener.js';
