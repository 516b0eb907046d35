import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DomainEvent } from '../../src/platform/events/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { clientEvent, consumerRow, eventsFixture, sleep, type EventsFixture } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`event delivery (${kind})`, () => {
    let f: EventsFixture;
    before(async () => {
      f = await eventsFixture(kind);
    });
    after(async () => {
      await f.close();
    });

    // Each test uses its own subscriber names; fromBeginning ones see earlier tests' events too,
    // so they only look at their own entity ids or topics.

    it('delivers committed events once, in order, and never a rolled-back one', async () => {
      const bus = f.bus();
      const seen: DomainEvent[] = [];
      bus.subscribe('order', async (e) => void seen.push(e));
      await bus.start();
      await f.publish([clientEvent(1, 'client.created')]);
      await f.publish([clientEvent(2)], { rollback: true });
      await f.publish([clientEvent(3), clientEvent(4)]);
      bus.poke();
      await bus.drain();
      await sleep(80); // a few more polls: nothing is delivered twice
      await bus.stop();
      assert.deepEqual(seen.map((e) => e.entityId), ['1', '3', '4']);
      assert.deepEqual(seen.map((e) => e.payload), [{ n: 1 }, { n: 3 }, { n: 4 }]);
      assert.equal(seen[0]!.topic, 'client.created');
      assert.equal(seen[0]!.entityType, 'client');
      assert.ok(seen.every((e, i) => i === 0 || e.id > seen[i - 1]!.id));
      assert.ok(seen.every((e) => typeof e.createdAt === 'number' && e.createdAt > 0));
    });

    it('keeps an independent checkpoint per subscriber', async () => {
      const bus = f.bus();
      const a: number[] = [];
      const b: number[] = [];
      bus.subscribe('ind-a', async (e) => void a.push(Number(e.entityId)), { topics: ['ind.*'], fromBeginning: true });
      await f.publish([1, 2, 3].map((n) => clientEvent(n, 'ind.x')));
      await bus.drain();
      bus.subscribe('ind-b', async (e) => void b.push(Number(e.entityId)), { topics: ['ind.*'] });
      await bus.drain(); // registers ind-b: it starts here, after events 1–3
      await f.publish([4, 5].map((n) => clientEvent(n, 'ind.x')));
      await bus.drain();
      assert.deepEqual(a, [1, 2, 3, 4, 5]);
      assert.deepEqual(b, [4, 5]);
      const rowA = await consumerRow(f.database.db, 'ind-a');
      const rowB = await consumerRow(f.database.db, 'ind-b');
      assert.equal(Number(rowA!.last_event_id), Number(rowB!.last_event_id));
      assert.equal(Number(rowA!.failures), 0);
    });

    it('filters by exact topic and prefix, and still moves the checkpoint past the rest', async () => {
      const bus = f.bus();
      const prefix: string[] = [];
      const exact: string[] = [];
      bus.subscribe('flt-prefix', async (e) => void prefix.push(e.topic), { topics: ['flt.client.*'] });
      bus.subscribe('flt-exact', async (e) => void exact.push(e.topic), { topics: ['flt.deal.created', 'flt.deal.won'] });
      await bus.drain(); // register both before publishing
      await f.publish([
        clientEvent(1, 'flt.client.created'),
        clientEvent(2, 'flt.deal.created'),
        clientEvent(3, 'flt.client.updated'),
        clientEvent(4, 'flt.deal.updated'),
        clientEvent(5, 'flt.clientele'),
        clientEvent(6, 'FLT.CLIENT.CREATED'),
        clientEvent(7, 'flt.deal.won'),
      ]);
      await bus.drain();
      assert.deepEqual(prefix, ['flt.client.created', 'flt.client.updated']);
      assert.deepEqual(exact, ['flt.deal.created', 'flt.deal.won']);
      const maxId = Number((await f.database.db.selectFrom('events').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())!.m);
      for (const name of ['flt-prefix', 'flt-exact']) assert.equal(Number((await consumerRow(f.database.db, name))!.last_event_id), maxId);
      assert.deepEqual(await bus.lag(), { 'flt-prefix': 0, 'flt-exact': 0 });
      assert.throws(() => bus.subscribe('flt-bad', async () => {}, { topics: ['a.*.b'] }), /invalid topic filter/);
    });

    it('resumes from the checkpoint after a restart without redelivering', async () => {
      const first: number[] = [];
      const bus1 = f.bus();
      bus1.subscribe('restart', async (e) => void first.push(Number(e.entityId)), { topics: ['rs.*'] });
      await bus1.start();
      await f.publish([1, 2, 3].map((n) => clientEvent(n, 'rs.x')));
      await bus1.drain();
      await bus1.stop();
      await f.publish([4, 5].map((n) => clientEvent(n, 'rs.x'))); // written while nobody runs
      const second: number[] = [];
      const bus2 = f.bus({ database: f.openAnother() });
      bus2.subscribe('restart', async (e) => void second.push(Number(e.entityId)), { topics: ['rs.*'], fromBeginning: true });
      assert.deepEqual(await bus2.lag(), { restart: 2 }); // read from the durable checkpoint
      await bus2.start();
      await bus2.drain();
      await bus2.stop();
      assert.deepEqual(first, [1, 2, 3]);
      assert.deepEqual(second, [4, 5]); // fromBeginning does not override an existing checkpoint
    });

    it('reports lag and prunes only what every consumer has passed', async () => {
      let now = Date.now();
      const clock = { now: () => now };
      const bus = f.bus({ clock });
      bus.subscribe('lag-fast', async () => {}, { topics: ['lag.*'] });
      bus.subscribe('lag-slow', async () => {}, { topics: ['lag.*'] });
      await bus.drain();
      await f.publish([1, 2, 3].map((n) => clientEvent(n, 'lag.x')), { via: bus });
      assert.deepEqual(await bus.lag(), { 'lag-fast': 3, 'lag-slow': 3 });
      await bus.drain();
      assert.deepEqual(await bus.lag(), { 'lag-fast': 0, 'lag-slow': 0 });

      // Hold one consumer back: nothing it still needs may go.
      const held = Number((await consumerRow(f.database.db, 'lag-slow'))!.last_event_id) - 2;
      await f.database.db.updateTable('event_consumers').set({ last_event_id: held }).execute();
      now += 60_000;
      assert.equal(await bus.prune(120_000), 0); // not old enough
      const before = await f.database.db.selectFrom('events').select('id').execute();
      const deleted = await bus.prune(30_000);
      const left = await f.database.db.selectFrom('events').select('id').orderBy('id').execute();
      assert.equal(deleted, before.length - left.length);
      assert.ok(deleted > 0);
      assert.deepEqual(left.map((r) => Number(r.id)), before.map((r) => Number(r.id)).filter((id) => id > held));
    });
  });
}
