// Hot statements inside a group commit run straight on the SQLite connection (platform/db/direct.ts):
// the same answers as through Kysely, still undone with their member, and never outside a batch's
// transaction (there the root connection may be held by another transaction).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql, type RawBuilder } from 'kysely';
import { createGroupCommit, execute, openDatabase, rowsInsert, toRaw, type Database } from '../../src/platform/db/index.js';
import { scratchDatabase, TEST_DATABASES, type ScratchDatabase } from '../support/databases.js';

/** The statement, with a note of whether Kysely's own execute() ran it. */
function watched<R>(query: RawBuilder<R>): { query: RawBuilder<R>; throughKysely: () => boolean } {
  let used = false;
  const proxy = new Proxy(query, {
    get(target, key) {
      if (key === 'execute') used = true;
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value; // private fields need the real object
    },
  });
  return { query: proxy, throughKysely: () => used };
}

for (const kind of TEST_DATABASES) {
  describe(`direct statements in a group commit (${kind})`, () => {
    let scratch: ScratchDatabase;
    let database: Database;
    before(async () => {
      scratch = await scratchDatabase(kind);
      database = openDatabase(scratch.url);
      await sql`create table tallies (id integer primary key, name text not null, n integer not null)`.execute(database.db);
    });
    after(async () => {
      await database.close();
      await scratch.drop();
    });

    it('answers as Kysely does: rows returned, rows changed, parameters nested in fragments', async () => {
      const group = createGroupCommit(database.db, database.dialect);
      const insert = watched(sql<{ id: number; name: string }>`insert into tallies (id, name, n) values ${sql.join([sql`(${1}, ${'one'}, ${10})`, sql`(${2}, ${'two'}, ${20})`])} returning id, name`);
      const update = watched(sql`update tallies set n = n + ${5} where id in (${sql.join([1, 2, 3])})`);
      const [inserted, updated] = await group.transaction(async (trx) => [await execute(trx, insert.query), await execute(trx, update.query)] as const);
      assert.deepEqual(inserted.rows.map((r) => [Number(r.id), r.name]), [[1, 'one'], [2, 'two']]);
      assert.equal(updated.numAffectedRows, 2n);
      // SQLite skips Kysely inside the batch; PostgreSQL keeps its own transaction per member and Kysely.
      assert.equal(insert.throughKysely(), kind === 'postgres');
      assert.equal(update.throughKysely(), kind === 'postgres');
      const rows = await database.read.all('select id, n from tallies order by id', []);
      assert.deepEqual(rows.map((r) => [Number(r.id), Number(r.n)]), [[1, 15], [2, 25]]);
    });

    it('a member that throws after direct writes leaves nothing; the others of its batch commit', async () => {
      const group = createGroupCommit(database.db, database.dialect);
      const write = (id: number, fail: boolean) =>
        group.transaction(async (trx) => {
          await execute(trx, sql`insert into tallies (id, name, n) values (${id}, ${'batch'}, ${0})`);
          if (fail) throw new Error(`member ${id} gives up`);
        });
      const results = await Promise.allSettled([write(30, false), write(31, true), write(32, false)]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      const rows = await database.read.all('select id from tallies where id >= 30 order by id', []);
      assert.deepEqual(rows.map((r) => Number(r.id)), [30, 32]);
    });

    it('plain row inserts: any row count, a suffix, inside a batch and outside it, and as a Kysely template', async () => {
      const tallyRows = rowsInsert<{ id: number; name: string; n: number }>('tallies', ['id', 'name', 'n'], ' returning id, n');
      const group = createGroupCommit(database.db, database.dialect);
      const [one, three] = await group.transaction(async (trx) => [
        await execute<{ id: number; n: number }>(trx, tallyRows([{ id: 50, name: 'a', n: 1 }])),
        await execute<{ id: number; n: number }>(trx, tallyRows([50, 51, 52].map((id) => ({ id: id + 1, name: `row ${id}`, n: id })))),
      ]);
      assert.deepEqual(one.rows.map((r) => [Number(r.id), Number(r.n)]), [[50, 1]]);
      assert.deepEqual(three.rows.map((r) => [Number(r.id), Number(r.n)]), [[51, 50], [52, 51], [53, 52]]);
      const outside = await execute<{ id: number; n: number }>(database.db, tallyRows([{ id: 54, name: 'root', n: 9 }]));
      assert.deepEqual(outside.rows.map((r) => Number(r.id)), [54]);
      // As a Kysely template (what PostgreSQL's WITH clauses embed): the same parameters, in order.
      const asTemplate = toRaw<{ id: number }>(tallyRows([{ id: 55, name: 'template', n: 7 }]));
      assert.deepEqual(asTemplate.compile(database.db).parameters, [55, 'template', 7]);
      assert.deepEqual((await asTemplate.execute(database.db)).rows.map((r) => Number(r.id)), [55]);
      const rows = await database.read.all('select id, name from tallies where id between 50 and 55 order by id', []);
      assert.deepEqual(rows.map((r) => [Number(r.id), r.name]), [[50, 'a'], [51, 'row 50'], [52, 'row 51'], [53, 'row 52'], [54, 'root'], [55, 'template']]);
    });

    it('outside a batch, and for templates it cannot compile, the statement goes through Kysely', async () => {
      const outside = watched(sql`insert into tallies (id, name, n) values (${40}, ${'root'}, ${1})`);
      await execute(database.db, outside.query);
      assert.ok(outside.throughKysely(), 'the root connection may be held by another transaction: Kysely queues for it');

      const group = createGroupCommit(database.db, database.dialect);
      const literal = watched(sql<{ n: number }>`select n + ${sql.lit(1)} as n from tallies where id = ${40}`);
      const { rows } = await group.transaction((trx) => execute(trx, literal.query));
      assert.equal(Number(rows[0]?.n), 2);
      assert.ok(literal.throughKysely(), 'an inlined literal is left to Kysely’s compiler');
    });
  });
}
