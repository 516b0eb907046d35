// SQLite WAL checkpoints run in a worker thread, not inside the hub's commits: the writing connection
// only checkpoints by itself past a high backstop. Written pages reach the database file all the same.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/platform/db/index.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES } from '../../src/platform/db/sqlite-checkpointer.js';

describe('SQLite WAL checkpoints in the background', () => {
  it('pages written past the default 1000-page checkpoint reach the database file without the writer checkpointing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-wal-'));
    const file = join(dir, 'hub.db');
    const database = openDatabase(`sqlite:${file}`);
    try {
      const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
      assert.equal(rows[0]!.wal_autocheckpoint, BACKSTOP_AUTOCHECKPOINT_PAGES, 'the writer only checkpoints past the backstop');
      await sql`create table blobs (id integer primary key, body blob not null)`.execute(database.db);
      const body = Buffer.alloc(64 * 1024, 7);
      // ~3000 pages of 4 KiB: past SQLite's default automatic checkpoint, far below the backstop.
      for (let i = 0; i < 12; i++) {
        await database.db.transaction().execute(async (trx) => {
          for (let j = 0; j < 16; j++) await sql`insert into blobs (body) values (${body})`.execute(trx);
        });
      }
      const deadline = Date.now() + 10_000;
      while (statSync(file).size < 12 * 16 * body.length) {
        assert.ok(Date.now() < deadline, `the database file is still ${statSync(file).size} bytes: nothing checkpointed the WAL`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const { rows: count } = await sql<{ n: number }>`select count(*) as n from blobs`.execute(database.db);
      assert.equal(count[0]!.n, 192);
    } finally {
      await database.close(); // stops the worker: the test ends rather than hanging on it
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
