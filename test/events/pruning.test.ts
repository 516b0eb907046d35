import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { createLogger } from '../../src/platform/logging/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { fakeClock } from '../jobs/support.js';
import { clientEvent, eventsFixture, type EventsFixture } from './support.js';

const DAY = 86_400_000;

/** An info logger whose "pruned" lines the test can read. */
function prunedLines() {
  const lines: { msg: string; pruned?: number; batches?: number }[] = [];
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, pruned: () => lines.filter((l) => l.pruned !== undefined) };
}

for (const kind of TEST_DATABASES) {
  describe(`pruning the outbox in batches (${kind})`, () => {
    let f: EventsFixture;
    beforeEach(async () => {
      f = await eventsFixture(kind);
    });
    afterEach(async () => f.close());

    const eventIds = async () => (await f.database.db.selectFrom('events').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    const publishMany = async (n: number, via: Parameters<EventsFixture['publish']>[1] = {}) => {
      const before = new Set(await eventIds());
      await f.publish(Array.from({ length: n }, (_, i) => clientEvent(i)), via);
      return (await eventIds()).filter((id) => !before.has(id));
    };

    it('deletes a backlog larger than one batch, a bounded batch at a time; keeps what a subscriber has not had and what is newer than the retention', async () => {
      const clock = fakeClock();
      const logged = prunedLines();
      const main = f.bus({ clock, log: logged.log, pruneBatchSize: 7 });
      main.subscribe('all', async () => {});
      await main.drain();
      const delivered = await publishMany(40, { via: main });
      await main.drain();

      // "behind" joins now and its process never runs again: the events after this are not delivered to it.
      const other = f.bus({ clock, processName: 'gone:1' });
      other.subscribe('behind', async () => {});
      await other.drain();
      const undelivered = await publishMany(5, { via: main });
      await main.drain();
      clock.advance(8 * DAY);
      const recent = await publishMany(3, { via: main });
      await main.drain();

      assert.equal(await main.prune(7 * DAY), delivered.length);
      assert.deepEqual(await eventIds(), [...undelivered, ...recent], 'undelivered and recent events stay');
      const [line, ...more] = logged.pruned();
      assert.equal(more.length, 0, 'one line per run');
      assert.equal(line?.pruned, 40);
      assert.equal(line?.batches, Math.ceil(40 / 7), 'at most 7 per batch');
      assert.match(line!.msg, /pruned 40 delivered events older than 7 days/);

      assert.equal(await main.prune(7 * DAY), 0);
      assert.equal(logged.pruned().length, 1, 'nothing pruned: nothing logged');

      // Once "behind" is forgotten, its events go too; the recent ones still stay.
      assert.equal((await main.forget('behind', true)).kind, 'forgotten');
      assert.equal(await main.prune(7 * DAY), undelivered.length);
      assert.deepEqual(await eventIds(), recent);
    });

    it('each batch commits on its own: another connection sees the backlog shrink batch by batch', async () => {
      const clock = fakeClock();
      const bus = f.bus({ clock, pruneBatchSize: 50 });
      bus.subscribe('all', async () => {});
      await bus.drain();
      const backlog = await publishMany(2000, { via: bus });
      await bus.drain();
      clock.advance(2 * DAY);

      const observer = f.openAnother();
      const seen = new Set<number>();
      let done = false;
      const watching = (async () => {
        while (!done) {
          const row = await observer.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
          seen.add(Number(row.n));
          await setImmediate(); // SQLite answers within microtasks: give the pruner its turns
        }
      })();
      const pruned = await bus.prune(DAY).finally(() => (done = true));
      await watching;

      assert.equal(pruned, backlog.length);
      assert.deepEqual(await eventIds(), []);
      const between = [...seen].filter((n) => n > 0 && n < backlog.length);
      assert.ok(between.length >= 2, `counts seen while pruning: ${[...seen].sort((a, b) => a - b).join(', ')}`);
      assert.ok(between.every((n) => n % 50 === 0), 'whole batches only');
    });

    it('stops between batches once its signal is aborted', async () => {
      const clock = fakeClock();
      const bus = f.bus({ clock, pruneBatchSize: 5 });
      bus.subscribe('all', async () => {});
      await bus.drain();
      const ids = await publishMany(20, { via: bus });
      await bus.drain();
      clock.advance(2 * DAY);

      assert.equal(await bus.prune(DAY, { signal: AbortSignal.abort() }), 0);
      assert.deepEqual(await eventIds(), ids);
      assert.equal(await bus.prune(DAY), 20);
    });
  });
}
