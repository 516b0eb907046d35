import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MIGRATIONS } from '../../src/hub.js';
import { systemClock } from '../../src/platform/clock.js';
import { migrateToLatest, openDatabase, type Database } from '../../src/platform/db/index.js';
import { createEventBus, eventSubscribersMigration } from '../../src/platform/events/index.js';
import { scratchDatabase, TEST_DATABASES, type ScratchDatabase } from '../support/databases.js';
import { consumerRow, log } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`migration ${eventSubscribersMigration.name} on an existing database (${kind})`, () => {
    let scratch: ScratchDatabase;
    let database: Database;
    const checkpointAt = Date.UTC(2024, 5, 1);

    before(async () => {
      scratch = await scratchDatabase(kind);
      database = openDatabase(scratch.url);
      // A database of the release before: every other module's migrations applied, later-numbered ones included.
      await migrateToLatest(database, MIGRATIONS.filter((m) => m !== eventSubscribersMigration));
      const { db } = database;
      await db.insertInto('events').values([1, 2, 3].map((n) => ({ topic: n === 2 ? 'other.x' : 'old.x', entity_type: 'client', entity_id: String(n), payload: '{}', created_at: checkpointAt }))).execute();
      await db.insertInto('event_consumers').values({ name: 'old-sub', last_event_id: 0, updated_at: checkpointAt, last_error: 'boom', failures: 2 }).execute();
    });
    after(async () => {
      await database.close();
      await scratch.drop();
    });

    it('applies after later-numbered migrations and keeps existing checkpoints working as before', async () => {
      assert.deepEqual((await migrateToLatest(database, MIGRATIONS)).applied, [eventSubscribersMigration.name]);
      const row = await consumerRow(database.db, 'old-sub');
      assert.equal(row!.topics, null, 'the filter was never recorded');
      assert.equal(Number(row!.seen_at), checkpointAt, 'last seen: its last checkpoint change');
      assert.equal(row!.seen_by, null);
      assert.equal(Number(row!.failures), 2);

      // A process that does not subscribe it: today's behaviour for an unknown filter.
      const bystander = createEventBus({ db: database.db, dialect: database.dialect, log, clock: systemClock });
      const [unknown] = await bystander.subscriberStatus('old-sub');
      assert.equal(unknown!.topics, null);
      assert.equal(unknown!.lag, 3, 'every topic counts');
      assert.equal(unknown!.stuckAt, null);
      assert.equal(unknown!.inUse, false);
      assert.equal((await bystander.skip('old-sub', 1)).kind, 'unknown-filter');

      // The release that runs it registers it: filter and sighting recorded, checkpoint and failures kept.
      const runner = createEventBus({ db: database.db, dialect: database.dialect, log, clock: systemClock, processName: 'upgraded:1' });
      const fail = async (e: { entityId: string }) => {
        throw new Error(`still cannot handle client ${e.entityId}`);
      };
      runner.subscribe('old-sub', fail, { topics: ['old.*'] });
      await assert.rejects(runner.drain(), /old-sub failed on event \d+: Error: still cannot handle client 1/);
      const registered = await consumerRow(database.db, 'old-sub');
      assert.equal(registered!.topics, JSON.stringify(['old.*']));
      assert.equal(registered!.seen_by, 'upgraded:1');
      assert.equal(Number(registered!.last_event_id), 0);
      assert.equal(Number(registered!.failures), 3);

      // Now the bystander judges it by the stored filter: its lag, the event it is stuck at, the skip.
      const [known] = await bystander.subscriberStatus('old-sub');
      assert.deepEqual(known!.topics, ['old.*']);
      assert.equal(known!.lag, 2, 'the other topic does not count');
      assert.equal(known!.inUse, true);
      const firstOld = Number((await database.db.selectFrom('events').select('id').where('entity_id', '=', '1').executeTakeFirstOrThrow()).id);
      assert.equal(known!.stuckAt!.id, firstOld);
      assert.equal((await bystander.skip('old-sub', firstOld)).kind, 'skipped');
      assert.equal(Number((await consumerRow(database.db, 'old-sub'))!.last_event_id), firstOld);
    });
  });
}
