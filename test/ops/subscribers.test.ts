import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { ManagedEventBus, NewEvent, SubscriberStatus } from '../../src/platform/events/index.js';
import { openDatabase } from '../../src/platform/db/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { fakeClock, gate, waitFor } from '../jobs/support.js';
import { publish, within } from './support.js';

/** As GET /event-subscribers answers (JSON of the bus's own status type). */
type Status = SubscriberStatus;

const event = (topic: string, n: number, payload: Record<string, unknown> = {}): NewEvent => ({ topic, entityType: 'client', entityId: n, payload });

for (const kind of TEST_DATABASES) {
  describe(`operations: event subscribers (${kind})`, () => {
    let t: TestHub;
    let bus: ManagedEventBus;
    // A frozen clock: a subscriber backing off never becomes due by itself, so only skip/retry can move it.
    const clock = fakeClock();
    const poisoned: string[] = [];
    const flaky: string[] = [];
    let flakyFails = true;

    before(async () => {
      t = await startTestHub(kind, { clock });
      bus = t.hub.ctx.events as ManagedEventBus;
      bus.subscribe(
        'ops-poisoned',
        async (e) => {
          if ((e.payload as { poison?: boolean }).poison) throw new Error(`cannot handle client ${e.entityId}`);
          poisoned.push(e.entityId);
        },
        { topics: ['ops.*'] },
      );
      bus.subscribe(
        'ops-flaky',
        async (e) => {
          if (flakyFails) throw new Error('the remote is down');
          flaky.push(e.entityId);
        },
        { topics: ['flaky.changed'] },
      );
      await bus.drain(); // creates the checkpoints
    });
    after(async () => t.close());

    const subscriber = async (name: string): Promise<Status> => {
      const res = await t.call('GET', '/event-subscribers');
      assert.equal(res.statusCode, 200, res.body);
      const found = (res.json() as Status[]).find((s) => s.name === name);
      assert.ok(found, `${name} is listed`);
      return found;
    };
    const skip = (name: string, eventId: number) => t.call('POST', `/event-subscribers/${name}/skip`, { body: { eventId } });

    it('a poisoned subscriber shows the event it is stuck at; skipping exactly that one resumes delivery without it', async () => {
      const [first, other, poison, later] = await publish(t, [
        event('ops.changed', 1),
        event('other.changed', 99), // not the subscriber's topic: never what it is stuck at
        event('ops.changed', 2, { poison: true }),
        event('ops.changed', 3),
      ]);
      await assert.rejects(within(bus.drain()), /ops-poisoned failed on event \d+: Error: cannot handle client 2/);
      assert.deepEqual(poisoned, ['1']);

      const stuck = await subscriber('ops-poisoned');
      assert.deepEqual(stuck.topics, ['ops.*']);
      assert.equal(stuck.failures, 1);
      assert.match(stuck.lastError!, /cannot handle client 2/);
      assert.deepEqual(stuck.stuckAt, { id: poison, topic: 'ops.changed', entityType: 'client', entityId: '2', createdAt: clock.now() });
      assert.equal(stuck.lag, 2, 'the poisoned event and the one behind it (the other topic does not count)');
      assert.ok(stuck.lastEventId >= first! && stuck.lastEventId < poison!);
      assert.equal(stuck.retryAt, stuck.updatedAt + 1000, 'first failure: the 1 s base backoff');

      for (const wrong of [later!, other!, first!]) {
        const res = await skip('ops-poisoned', wrong);
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json().error, 'CONFLICT');
        assert.match(res.json().description, new RegExp(`is stuck at event ${poison} \\(ops.changed, client 2\\), not at event ${wrong}`));
      }
      assert.equal((await subscriber('ops-poisoned')).failures, 1, 'a refused skip changes nothing');

      const res = await skip('ops-poisoned', poison!);
      assert.equal(res.statusCode, 200, res.body);
      const { skipped, subscriber: after } = res.json();
      assert.equal(skipped.id, poison);
      assert.equal(after.lastEventId, poison);
      assert.equal(after.failures, 0);
      assert.equal(after.lastError, null);
      assert.equal(after.retryAt, null);
      assert.equal(after.stuckAt, null);
      assert.equal(after.lag, 1);

      // The clock is frozen: had the backoff not been reset, this drain would wait for ever.
      await within(bus.drain());
      assert.deepEqual(poisoned, ['1', '3'], 'the later event is delivered, the poisoned one never');
      assert.equal((await subscriber('ops-poisoned')).lag, 0);

      const notStuck = await skip('ops-poisoned', later!);
      assert.equal(notStuck.statusCode, 409);
      assert.match(notStuck.json().description, /is not failing/);
      const missing = await skip('no-such-subscriber', 1);
      assert.equal(missing.statusCode, 404);
      assert.match(missing.json().description, /No event subscriber named "no-such-subscriber"; known: .*ops-poisoned/);
      const badBody = await t.call('POST', '/event-subscribers/ops-poisoned/skip', { body: { eventId: 'two' } });
      assert.equal(badBody.statusCode, 422);
    });

    it('retry ends the backoff wait at once and keeps the event; it is refused when the subscriber is not failing', async () => {
      await publish(t, [event('flaky.changed', 5)]);
      await assert.rejects(within(bus.drain()), /ops-flaky failed/);
      const failing = await subscriber('ops-flaky');
      assert.equal(failing.failures, 1);
      assert.ok(failing.retryAt! > clock.now(), 'waiting out its backoff');

      flakyFails = false;
      const res = await t.call('POST', '/event-subscribers/ops-flaky/retry');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().failures, 0);
      assert.equal(res.json().retryAt, null);
      assert.match(res.json().lastError, /the remote is down/, 'kept until the next round');
      assert.equal(res.json().lastEventId, failing.lastEventId, 'nothing skipped');

      await within(bus.drain());
      assert.deepEqual(flaky, ['5']);
      assert.equal((await subscriber('ops-flaky')).lastError, null);
      const again = await t.call('POST', '/event-subscribers/ops-flaky/retry');
      assert.equal(again.statusCode, 409);
      assert.match(again.json().description, /is not failing/);
    });

    it('a checkpoint no subscriber of this process owns is listed with its full lag, but cannot be skipped', async () => {
      const now = clock.now();
      await t.hub.ctx.db.insertInto('event_consumers').values({ name: 'elsewhere', last_event_id: 0, updated_at: now, last_error: 'boom', failures: 3 }).execute();
      const all = Number((await t.hub.ctx.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const row = await subscriber('elsewhere');
      assert.equal(row.topics, null);
      assert.equal(row.lag, all, 'every event counts: the filter is unknown');
      assert.equal(row.stuckAt, null);
      assert.equal(row.retryAt, now + 4000, 'third failure: 4 s');
      const res = await skip('elsewhere', 1);
      assert.equal(res.statusCode, 409);
      assert.match(res.json().description, /not subscribed in this process/);
      // Retrying needs no filter.
      assert.equal((await t.call('POST', '/event-subscribers/elsewhere/retry')).json().failures, 0);
    });
  });

  describe(`operations: a subscriber being delivered (${kind})`, () => {
    let t: TestHub;
    let bus: ManagedEventBus;
    const inHandler = gate();
    const release = gate();

    before(async () => {
      t = await startTestHub(kind);
      bus = t.hub.ctx.events as ManagedEventBus;
      bus.subscribe(
        'ops-slow',
        async (e) => {
          if (e.entityId === '1') {
            inHandler.open();
            await release.promise;
            throw new Error('slow and failing');
          }
        },
        { topics: ['slow.*'] },
      );
      await bus.drain();
    });
    after(async () => {
      release.open();
      await bus.stop();
      await t.close();
    });

    it('skip and retry answer 409 while a delivery round holds the subscriber, here or in another process', async () => {
      const [first] = await publish(t, [event('slow.changed', 1)]);
      await bus.start();
      bus.poke();
      await inHandler.promise;
      for (const res of [await t.call('POST', '/event-subscribers/ops-slow/skip', { body: { eventId: first } }), await t.call('POST', '/event-subscribers/ops-slow/retry')]) {
        assert.equal(res.statusCode, 409, res.body);
        assert.match(res.json().description, /is being delivered right now/);
      }
      release.open();
      await waitFor('the failure to be recorded', async () => (await t.call('GET', '/event-subscribers')).json().find((s: Status) => s.name === 'ops-slow').failures === 1);
      await bus.stop();

      if (kind === 'postgres') {
        // Another process mid-round holds the subscriber's advisory lock.
        const other = openDatabase(t.db.url);
        try {
          let held!: () => void;
          const locked = gate();
          const done = other.db.transaction().execute(async (trx) => {
            await sql`select pg_advisory_xact_lock(hashtextextended(${'conveyor.events:ops-slow'}, 0))`.execute(trx);
            locked.open();
            await new Promise<void>((r) => (held = r));
          });
          await locked.promise;
          const res = await t.call('POST', '/event-subscribers/ops-slow/skip', { body: { eventId: first } });
          assert.equal(res.statusCode, 409, res.body);
          assert.match(res.json().description, /being delivered right now \(in this or another process\)/);
          held();
          await done;
        } finally {
          await other.close();
        }
      }
      const res = await t.call('POST', '/event-subscribers/ops-slow/skip', { body: { eventId: first } });
      assert.equal(res.statusCode, 200, res.body);
    });
  });
}
