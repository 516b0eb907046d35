import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, prepared, type Database } from '../../src/platform/db/index.js';
import { scratchDatabase, type ScratchDatabase } from '../support/databases.js';

// A statement marked prepared() runs as a named statement on PostgreSQL (parsed once per connection);
// the rest stay unnamed; SQLite reads the marker as a comment.
describe('prepared statements (PostgreSQL)', () => {
  let scratch: ScratchDatabase;
  let database: Database;
  before(async () => {
    scratch = await scratchDatabase('postgres');
    database = openDatabase(scratch.url, { poolSize: 1 }); // one connection: pg_prepared_statements shows all
  });
  after(async () => {
    await database.close();
    await scratch.drop();
  });

  const named = async () =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements order by statement`.execute(database.db)).rows.map((r) => r.statement);

  it('a marked statement is prepared once per connection and answers as before; an unmarked one is not prepared', async () => {
    for (let i = 0; i < 3; i++) {
      const { rows } = await prepared(sql<{ n: number }>`select ${i}::int + 1 as n`).execute(database.db);
      assert.deepEqual(rows, [{ n: i + 1 }]);
    }
    await sql`select 42 as plain`.execute(database.db);
    const statements = await named();
    assert.equal(statements.length, 1, statements.join('\n'));
    assert.match(statements[0]!, /^\/\* prepared \*\/ select \$1::int \+ 1 as n$/);
  });

  it('a marked write inside a transaction rolls back with it', async () => {
    await sql`create table prepared_t (v int)`.execute(database.db);
    await assert.rejects(
      database.db.transaction().execute(async (trx) => {
        await prepared(sql`insert into prepared_t (v) values (${1})`).execute(trx);
        throw new Error('undo');
      }),
      /undo/,
    );
    await prepared(sql`insert into prepared_t (v) values (${2})`).execute(database.db);
    const { rows } = await sql<{ v: number }>`select v from prepared_t`.execute(database.db);
    assert.deepEqual(rows, [{ v: 2 }]);
  });
});

describe('prepared statements (SQLite)', () => {
  it('the marker is a comment there', async () => {
    const database = openDatabase('sqlite::memory:');
    try {
      const { rows } = await prepared(sql<{ n: number }>`select ${2} + 1 as n`).execute(database.db);
      assert.deepEqual(rows, [{ n: 3 }]);
    } finally {
      await database.close();
    }
  });
});
