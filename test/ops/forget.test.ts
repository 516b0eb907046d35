import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEventBus, type ManagedEventBus, type SubscriberStatus } from '../../src/platform/events/index.js';
import { createLogger } from '../../src/platform/logging/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { fakeClock, waitFor } from '../jobs/support.js';
import { publish } from './support.js';

const MINUTE = 60_000;

for (const kind of TEST_DATABASES) {
  describe(`operations: forgetting event subscribers (${kind})`, () => {
    let t: TestHub;
    let bus: ManagedEventBus;
    const clock = fakeClock();

    before(async () => {
      t = await startTestHub(kind, { clock });
      bus = t.hub.ctx.events as ManagedEventBus;
      bus.subscribe('ops-live', async () => {}, { topics: ['live.*'] });
      await bus.drain();
      // The release before ran "ops-removed"; this hub's code no longer has it.
      const { db, dialect } = t.hub.ctx;
      const previous = createEventBus({ db, dialect, clock, log: createLogger('silent'), processName: 'previous-release:41' });
      previous.subscribe('ops-removed', async () => {}, { topics: ['live.*'] });
      await previous.drain();
    });
    after(async () => t.close());

    const list = async (): Promise<SubscriberStatus[]> => {
      const res = await t.call('GET', '/event-subscribers');
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const forget = (name: string, query = '') => t.call('DELETE', `/event-subscribers/${name}${query}`);
    const row = (name: string) => t.hub.ctx.db.selectFrom('event_consumers').select('last_event_id').where('name', '=', name).executeTakeFirst();

    it('refuses while in use (409 that says how to go on), forgets once nobody has registered it for 5 minutes; pruning then proceeds', async () => {
      const ids = await publish(t, [1, 2, 3].map((n) => ({ topic: 'live.changed', entityType: 'client', entityId: n, payload: {} })));
      await bus.drain(); // ops-live passes them; ops-removed, run by nobody, does not

      const removed = (await list()).find((s) => s.name === 'ops-removed')!;
      assert.equal(removed.lastSeenAt, clock.now());
      assert.equal(removed.lastSeenBy, 'previous-release:41');
      assert.equal(removed.inUse, true);
      assert.deepEqual(removed.topics, ['live.*'], 'recorded by the process that registered it');
      assert.equal(removed.lag, 3);

      const refused = await forget('ops-removed');
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().error, 'CONFLICT');
      assert.match(refused.json().description, /"ops-removed" is in use: a process \(previous-release:41\) registered it less than a second ago/);
      assert.match(refused.json().description, /once no process has registered it for 5 minutes it can be forgotten/);
      assert.match(refused.json().description, /\?force=true \(CLI: --force\)/);
      clock.advance(5 * MINUTE - 1);
      assert.equal((await forget('ops-removed')).statusCode, 409, 'still within 5 minutes');
      assert.ok(await row('ops-removed'), 'a refusal deletes nothing');

      clock.advance(1);
      assert.equal((await list()).find((s) => s.name === 'ops-removed')!.inUse, false);
      assert.equal(await bus.prune(MINUTE), 0, 'held back by ops-removed');
      const done = await forget('ops-removed');
      assert.equal(done.statusCode, 204, done.body);
      assert.equal(await row('ops-removed'), undefined);
      assert.ok(!(await list()).some((s) => s.name === 'ops-removed'));
      assert.equal(await bus.prune(MINUTE), ids.length, 'nothing holds them back any more');

      const again = await forget('ops-removed');
      assert.equal(again.statusCode, 404);
      assert.equal(again.json().error, 'NOT_FOUND');
      assert.match(again.json().description, /No event subscriber named "ops-removed"; known: ops-live/);
    });

    it('force=true forgets a subscriber in use; the process that runs it starts it again as new', async () => {
      await bus.start(); // a running bus renews its subscribers' rows
      try {
        await waitFor('ops-live to be in use', async () => (await list()).find((s) => s.name === 'ops-live')!.inUse);
        assert.equal((await forget('ops-live')).statusCode, 409);
        assert.equal((await forget('ops-live', '?force=false')).statusCode, 409);
        assert.equal((await forget('ops-live', '?force=maybe')).statusCode, 400);
        const forced = await forget('ops-live', '?force=true');
        assert.equal(forced.statusCode, 204, forced.body);

        const [newest] = await publish(t, [{ topic: 'live.changed', entityType: 'client', entityId: 9, payload: {} }]);
        bus.poke();
        await waitFor('ops-live to be registered again, from the newest event', async () => Number((await row('ops-live'))?.last_event_id) === newest);
      } finally {
        await bus.stop();
      }
    });
  });
}
