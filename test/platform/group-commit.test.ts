// Group commit: transactions that arrive together commit together on SQLite, each still all-or-nothing
// on its own; on PostgreSQL each stays its own transaction, with the same contract.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createGroupCommit, openDatabase, type Database, type Db } from '../../src/platform/db/index.js';
import { scratchDatabase, TEST_DATABASES, type ScratchDatabase } from '../support/databases.js';

for (const kind of TEST_DATABASES) {
  describe(`group commit (${kind})`, () => {
    let scratch: ScratchDatabase;
    let database: Database;
    before(async () => {
      scratch = await scratchDatabase(kind);
      database = openDatabase(scratch.url);
      await sql`create table notes (id integer primary key, body text not null)`.execute(database.db);
    });
    after(async () => {
      await database.close();
      await scratch.drop();
    });

    const committed = async (ids: number[]) =>
      (await database.read.all(`select id from notes where id in (${ids.map(() => '?').join(', ')}) order by id`, ids)).map((r) => Number(r.id));

    it('concurrent transactions all commit; one that throws is undone alone and rejects with its own error', async () => {
      const group = createGroupCommit(database.db, database.dialect);
      const seen = new Set<Db>();
      const write = (id: number, fail = false) =>
        group.transaction(async (trx) => {
          seen.add(trx);
          await sql`insert into notes (id, body) values (${id}, ${`note ${id}`})`.execute(trx);
          await sql`insert into notes (id, body) values (${id + 1000}, 'second row of the same transaction')`.execute(trx);
          if (fail) throw new Error(`member ${id} gives up`);
          return id;
        });
      const results = await Promise.allSettled([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => write(id, id === 4)));
      assert.deepEqual(
        results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
        [1, 2, 3, 'member 4 gives up', 5, 6, 7, 8, 9, 10],
      );
      // Read through the hub's separate reader: what resolved is committed, the failed member left nothing.
      assert.deepEqual(await committed([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1004]), [1, 2, 3, 5, 6, 7, 8, 9, 10]);
      if (kind === 'sqlite') assert.ok(seen.size <= 2, `10 transactions that came together share their commits (${seen.size} transactions)`);
      else assert.equal(seen.size, 10, 'PostgreSQL: each is its own transaction');
    });

    it('a member resolves only once its writes are readable by another connection', async () => {
      const group = createGroupCommit(database.db, database.dialect);
      const id = await group.transaction(async (trx) => {
        await sql`insert into notes (id, body) values (${50}, 'durable')`.execute(trx);
        return 50;
      });
      assert.deepEqual(await committed([id]), [50]);
    });

    it('a unique violation in one member does not stop the others', async () => {
      const group = createGroupCommit(database.db, database.dialect);
      const results = await Promise.allSettled([60, 60, 61].map((id) => group.transaction(async (trx) => void (await sql`insert into notes (id, body) values (${id}, 'x')`.execute(trx)))));
      // Which of the two same-id writes wins is the database's call (PostgreSQL runs them in parallel).
      assert.deepEqual(results.slice(0, 2).map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal(results[2]!.status, 'fulfilled');
      const loser = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      assert.ok(database.dialect.isUniqueViolation(loser.reason), 'the caller sees the database error as it is');
      assert.deepEqual(await committed([60, 61]), [60, 61]);
    });
  });
}
