// The SQLite hot-path reader shares one read transaction among the reads of one turn of the event
// loop (reader.ts). What that must never cost: a read that misses this process's own commit, a
// snapshot that outlives its turn (it would hold back checkpoints and hide other processes' commits),
// or rows shaped differently from the plain driver's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/platform/db/index.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SQLite reader: one snapshot per turn of the event loop', () => {
  let dir: string;
  let file: string;
  let database: Database;
  const names = async () => (await database.read.all('select name from notes order by id', [])).map((r) => r.name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'conveyor-reader-'));
    file = join(dir, 'hub.db');
    database = openDatabase(`sqlite:${file}`);
    await sql`create table notes (id integer primary key, name text not null, size integer)`.execute(database.db);
  });
  after(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sees this process's commits at once, within the same turn", async () => {
    await sql`delete from notes`.execute(database.db);
    assert.deepEqual(await names(), []); // opens the turn's snapshot
    await database.db.insertInto('notes').values({ name: 'autocommit' }).execute();
    assert.deepEqual(await names(), ['autocommit']);
    await database.db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ name: 'in a transaction' }).execute();
      assert.deepEqual(await names(), ['autocommit'], 'uncommitted writes stay invisible to the reader');
    });
    assert.deepEqual(await names(), ['autocommit', 'in a transaction']);
  });

  it("sees another process's commit from the next turn, and holds no transaction between turns", async () => {
    await sql`delete from notes`.execute(database.db);
    const other = new SqliteDatabase(file); // another process's connection, as far as SQLite can tell
    try {
      assert.deepEqual(await names(), []);
      other.prepare("insert into notes (name) values ('from elsewhere')").run();
      assert.deepEqual(await names(), [], 'a turn reads one consistent snapshot');
      await nextTurn();
      assert.deepEqual(await names(), ['from elsewhere']);
      await nextTurn();
      // No reader transaction left open: a full checkpoint can reset the WAL.
      const [result] = other.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
      assert.deepEqual([result!.busy, result!.log], [0, 0]);
    } finally {
      other.close();
    }
  });

  it('builds rows with the columns and values the driver gives, aliases and nulls included', async () => {
    await sql`delete from notes`.execute(database.db);
    await database.db.insertInto('notes').values([{ name: 'а', size: 3 }, { name: 'b"\'\\', size: null }]).execute();
    const raw = new SqliteDatabase(file, { readonly: true });
    try {
      const query = 'select id, name, size, size * 2 as "double size", ? as "param" from notes order by id';
      const expected = raw.prepare(query).all('x');
      const rows = await database.read.all(query, ['x']);
      assert.equal(rows.length, 2);
      assert.deepEqual(rows, expected);
      assert.deepEqual(await database.read.all('select * from notes where id = ?', [-1]), []);
    } finally {
      raw.close();
    }
  });
});
