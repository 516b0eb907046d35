import { after, before } from 'node:test';
import { MIGRATIONS } from '../../src/hub.js';
import { migrateToLatest, openDatabase, type Database, type Db } from '../../src/platform/db/index.js';
import { scratchDatabase, type ScratchDatabase } from './databases.js';

/**
 * A scratch database with every migration of the hub, for the tests of one `describe`: made in its
 * `before`, closed and dropped in its `after`. Call inside the describe; use `db()` (or `database()`) inside tests.
 */
export function migratedDatabase(kind: 'sqlite' | 'postgres'): { db(): Db; database(): Database } {
  let scratch: ScratchDatabase;
  let database: Database;
  before(async () => {
    scratch = await scratchDatabase(kind);
    database = openDatabase(scratch.url);
    await migrateToLatest(database, MIGRATIONS);
  });
  after(async () => {
    await database.close();
    await scratch.drop();
  });
  return { db: () => database.db, database: () => database };
}
