import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_DATABASES } from '../support/databases.js';
import { clientEvent, consumerRow, eventsFixture, waitFor, type EventsFixture } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`event handler failures (${kind})`, () => {
    let f: EventsFixture;
    before(async () => {
      f = await eventsFixture(kind);
    });
    after(async () => {
      await f.close();
    });

    it('retries a failing handler with backoff, waiting at that event: order kept, nothing lost', async () => {
      const bus = f.bus({ batchSize: 10 });
      const attempts: number[] = [];
      const handled: number[] = [];
      let failing = true;
      bus.subscribe(
        'retry',
        async (e) => {
          const n = Number(e.entityId);
          attempts.push(n);
          if (n === 2 && failing) throw new Error('boom on 2');
          handled.push(n);
        },
        { topics: ['retry.*'] },
      );
      await bus.start();
      await f.publish([1, 2, 3, 4].map((n) => clientEvent(n, 'retry.x')));
      bus.poke();
      await waitFor('two failures recorded', async () => Number((await consumerRow(f.database.db, 'retry'))?.failures) >= 2);
      const row = await consumerRow(f.database.db, 'retry');
      assert.match(String(row!.last_error), /boom on 2/);
      assert.deepEqual(handled, [1]); // 3 and 4 wait behind 2
      failing = false;
      await waitFor('all four handled', () => handled.length === 4);
      await bus.stop();
      assert.deepEqual(handled, [1, 2, 3, 4]);
      assert.ok(attempts.filter((n) => n === 2).length >= 3);
      assert.deepEqual(attempts.filter((n) => n !== 2), [1, 3, 4]);
      const done = await consumerRow(f.database.db, 'retry');
      assert.equal(Number(done!.failures), 0);
      assert.equal(done!.last_error, null);
    });

    it('drain() rejects when a handler fails, and the checkpoint stays before the failed event', async () => {
      const bus = f.bus();
      bus.subscribe('drain-fail', async (e) => {
        if (e.entityId === '2') throw new Error('nope');
      }, { topics: ['df.*'] });
      await bus.drain();
      await f.publish([1, 2].map((n) => clientEvent(n, 'df.x')));
      await assert.rejects(bus.drain(), /drain-fail failed on event \d+: Error: nope/);
      assert.equal((await bus.lag())['drain-fail'], 1);
    });

    it('stop() lets the running handler finish, saves its checkpoint, and delivers no more', async () => {
      const bus = f.bus();
      const handled: number[] = [];
      let entered!: () => void;
      let release!: () => void;
      const inHandler = new Promise<void>((r) => (entered = r));
      const gate = new Promise<void>((r) => (release = r));
      bus.subscribe('stopper', async (e) => {
        if (e.entityId === '1') {
          entered();
          await gate;
        }
        handled.push(Number(e.entityId));
      }, { topics: ['stop.*'] });
      await bus.start();
      await f.publish([1, 2, 3].map((n) => clientEvent(n, 'stop.x')));
      bus.poke();
      await inHandler;
      const stopped = bus.stop();
      release();
      await stopped;
      assert.deepEqual(handled, [1]);
      assert.equal((await bus.lag()).stopper, 2);
    });

    it('subscribeBatch hands over whole batches; a failing batch is offered again whole, nothing skipped', async () => {
      const bus = f.bus({ batchSize: 100 });
      const batches: number[][] = [];
      let failOnce = true;
      bus.subscribeBatch(
        'bulk',
        async (events) => {
          const ids = events.map((e) => Number(e.entityId));
          if (failOnce && ids.includes(5)) {
            failOnce = false;
            throw new Error('bulk boom');
          }
          batches.push(ids);
        },
        { topics: ['bulk.*'], batchSize: 3 },
      );
      await bus.start();
      await f.publish([1, 2, 3, 4, 5, 6, 7].map((n) => clientEvent(n, 'bulk.x')));
      bus.poke();
      await waitFor('all seven handled', () => batches.flat().length === 7);
      await bus.stop();
      assert.deepEqual(batches, [[1, 2, 3], [4, 5, 6], [7]]);
      const row = await consumerRow(f.database.db, 'bulk');
      assert.equal(Number(row!.failures), 0);
      assert.throws(() => bus.subscribeBatch('bad', async () => {}, { batchSize: 0 }), /batchSize/);
    });
  });
}
