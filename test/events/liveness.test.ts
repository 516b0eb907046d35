import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../src/platform/logging/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { fakeClock } from '../jobs/support.js';
import { clientEvent, consumerRow, eventsFixture, sleep, waitFor, type EventsFixture } from './support.js';

const DAY = 86_400_000;
const MINUTE = 60_000;

/** A logger whose warn lines the test can read. */
function capturingLog() {
  const lines: { msg: string; subscriber?: string; forget?: string }[] = [];
  const log = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, about: (name: string) => lines.filter((l) => l.subscriber === name && /pruning is held back/.test(l.msg)) };
}

for (const kind of TEST_DATABASES) {
  describe(`subscribers no process runs any more (${kind})`, () => {
    let f: EventsFixture;
    beforeEach(async () => {
      f = await eventsFixture(kind);
    });
    afterEach(async () => f.close());

    const eventIds = async () => (await f.database.db.selectFrom('events').select('id').orderBy('id').execute()).map((r) => Number(r.id));

    it('a removed subscriber holds back pruning; pruning warns about it now and then, and proceeds once it is forgotten', async () => {
      const clock = fakeClock();
      // The old release ran "retired"; the new one runs only "current".
      const old = f.bus({ clock, processName: 'old-release:1' });
      old.subscribe('retired', async () => {}, { topics: ['r.*'] });
      await old.drain();
      await f.publish([1, 2, 3].map((n) => clientEvent(n, 'r.x')), { via: old });
      const published = await eventIds();

      const warnings = capturingLog();
      const current = f.bus({ clock, log: warnings.log, processName: 'new-release:2', heldBackWarningEveryMs: 3_600_000 });
      current.subscribe('current', async () => {}, { topics: ['r.*'], fromBeginning: true });
      await current.drain();
      assert.equal(Number((await consumerRow(f.database.db, 'current'))!.last_event_id), Math.max(...published));

      const refused = await current.forget('retired', false);
      assert.equal(refused.kind, 'in-use', 'registered a moment ago');
      assert.equal(refused.kind === 'in-use' && refused.seenBy, 'old-release:1');

      clock.advance(8 * DAY);
      assert.equal(await current.prune(7 * DAY), 0, 'retired has not passed them');
      assert.deepEqual(await eventIds(), published);
      const [warning] = warnings.about('retired');
      assert.ok(warning, JSON.stringify(warnings.lines));
      assert.match(warning.msg, /not run by any process for 8 days/);
      assert.equal(warning.forget, 'conveyor events forget retired');
      assert.match(warning.msg, /DELETE \/event-subscribers\/retired/);
      assert.equal(warnings.about('current').length, 0, 'a subscriber a process runs is never blamed');

      await current.prune(7 * DAY);
      clock.advance(30 * MINUTE);
      await current.prune(7 * DAY);
      assert.equal(warnings.about('retired').length, 1, 'not once per prune');
      clock.advance(31 * MINUTE);
      await current.prune(7 * DAY);
      assert.equal(warnings.about('retired').length, 2, 'again after the warning interval');

      const [status] = await current.subscriberStatus('retired');
      assert.equal(status!.inUse, false);
      assert.deepEqual(status!.topics, ['r.*'], 'the stored filter, though this process does not subscribe it');
      assert.equal(status!.lag, 3);

      assert.equal((await current.forget('retired', false)).kind, 'forgotten');
      assert.equal(await consumerRow(f.database.db, 'retired'), undefined);
      assert.equal(await current.prune(7 * DAY), published.length);
      assert.deepEqual(await eventIds(), []);
      assert.equal((await current.forget('retired', false)).kind, 'missing');
    });

    it('a running bus renews lastSeenAt at its refresh interval, not per event; a forced forget makes it start the subscriber again as new', async () => {
      const clock = fakeClock();
      const bus = f.bus({ clock, processName: 'hub:7', seenRefreshMs: MINUTE });
      const seen: string[] = [];
      bus.subscribe('live', async (e) => void seen.push(e.entityId), { topics: ['l.*'] });
      await bus.start();
      const seenAt = async () => Number((await consumerRow(f.database.db, 'live'))?.seen_at ?? -1);
      await waitFor('registration', async () => (await seenAt()) === clock.now());
      const registeredAt = clock.now();

      clock.advance(30_000);
      await f.publish([clientEvent(1, 'l.x')], { via: bus });
      bus.poke();
      await waitFor('delivery', () => seen.length === 1);
      assert.equal(await seenAt(), registeredAt, 'delivering does not write it');

      clock.advance(31_000);
      await waitFor('the refresh', async () => (await seenAt()) === clock.now());
      const [status] = await bus.subscriberStatus('live');
      assert.equal(status!.inUse, true);
      assert.equal(status!.lastSeenBy, 'hub:7');
      assert.deepEqual(status!.topics, ['l.*']);

      // Another process (the CLI) that does not subscribe it.
      const cli = f.bus({ clock, processName: 'cli' });
      assert.equal((await cli.forget('live', false)).kind, 'in-use');
      assert.ok(await consumerRow(f.database.db, 'live'));
      assert.equal((await cli.forget('live', true)).kind, 'forgotten');
      assert.equal(await consumerRow(f.database.db, 'live'), undefined);

      // Idle meanwhile (nothing to deliver): the running bus notices at its next refresh and registers it as new.
      const newest = Math.max(...(await eventIds()));
      await sleep(50);
      assert.equal(await consumerRow(f.database.db, 'live'), undefined, 'not before its refresh is due');
      clock.advance(MINUTE);
      await waitFor('registration as new', async () => Number((await consumerRow(f.database.db, 'live'))?.last_event_id ?? -1) === newest);
      await f.publish([clientEvent(2, 'l.x')], { via: bus });
      bus.poke();
      await waitFor('delivery resumes', () => seen.length === 2);
      assert.deepEqual(seen, ['1', '2']);
    });
  });
}
