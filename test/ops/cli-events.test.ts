import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagedEventBus } from '../../src/platform/events/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { waitFor } from '../jobs/support.js';
import { SUBSCRIBER, TOPICS } from './fixtures/poison-plugin.js';

const UNPLUGGED = 'ops-cli-unplugged';
import { conveyor, publish } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`conveyor events … (${kind})`, () => {
    let t: TestHub;
    let bus: ManagedEventBus;
    const delivered: string[] = [];
    const unplugged: string[] = [];

    before(async () => {
      t = await startTestHub(kind);
      bus = t.hub.ctx.events as ManagedEventBus;
      // The hub delivers; the CLI knows the same subscriber (and its filter) from the plugin.
      bus.subscribe(
        SUBSCRIBER,
        async (e) => {
          if ((e.payload as { poison?: boolean }).poison) throw new Error(`cannot handle client ${e.entityId}`);
          delivered.push(e.entityId);
        },
        { topics: TOPICS },
      );
      // Not in the plugin the CLI loads: the CLI knows its filter only from the checkpoint row.
      bus.subscribe(
        UNPLUGGED,
        async (e) => {
          if ((e.payload as { poison?: boolean }).poison) throw new Error(`cannot handle client ${e.entityId}`);
          unplugged.push(e.entityId);
        },
        { topics: ['unplugged.*'] },
      );
      await bus.start();
    });
    after(async () => {
      await bus.stop();
      await t.close();
    });

    const consumer = (name = SUBSCRIBER) => t.hub.ctx.db.selectFrom('event_consumers').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    const hasRow = async (name: string) => (await t.hub.ctx.db.selectFrom('event_consumers').select('name').where('name', '=', name).executeTakeFirst()) !== undefined;
    /** The hub may hold the subscriber for a moment when the CLI asks (409 "being delivered"): ask again then. */
    const patiently = async (...args: string[]) => {
      const first = await conveyor(t.db.url, ...args);
      return first.code !== 0 && /being delivered/.test(first.stderr) ? conveyor(t.db.url, ...args) : first;
    };

    it('lists the stuck subscriber, refuses the wrong event, skips the poisoned one; the running hub resumes within seconds', async () => {
      const [, poison, later] = await publish(t, [
        { topic: 'cli.changed', entityType: 'client', entityId: 1, payload: {} },
        { topic: 'cli.changed', entityType: 'client', entityId: 2, payload: { poison: true } },
        { topic: 'cli.changed', entityType: 'client', entityId: 3, payload: {} },
      ]);
      bus.poke();
      await waitFor('the first failure', async () => Number((await consumer()).failures) >= 1);
      // Failing for a long while: the backoff is at its 5 min cap. The hub sees that on its next round (1 s);
      // from then on only its periodic re-read of the checkpoint can notice the skip below.
      await t.hub.ctx.db.updateTable('event_consumers').set({ failures: 12, updated_at: Date.now() }).where('name', '=', SUBSCRIBER).execute();
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(delivered, ['1']);
      const url = t.db.url;

      const list = await conveyor(url, 'events', 'subscribers');
      assert.equal(list.code, 0, list.stderr);
      const line = list.stdout.split('\n').find((l) => l.startsWith(`${SUBSCRIBER} `));
      assert.ok(line, list.stdout);
      assert.match(line, new RegExp(`^${SUBSCRIBER}\\s+cli\\.\\*\\s+\\d+\\s+2\\s+12\\s+\\S+Z\\s+${poison} \\(cli\\.changed, client 2\\)\\s+\\S[^(]* ago \\(in use\\)\\s+Error: cannot handle client 2$`));

      const wrong = await conveyor(url, 'events', 'skip', SUBSCRIBER, String(later));
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, new RegExp(`is stuck at event ${poison} \\(cli\\.changed, client 2\\), not at event ${later}`));

      // The hub may hold the subscriber for a moment when the CLI asks (409 "being delivered"): ask again then.
      let skip = await conveyor(url, 'events', 'skip', SUBSCRIBER, String(poison));
      if (skip.code !== 0 && /being delivered/.test(skip.stderr)) skip = await conveyor(url, 'events', 'skip', SUBSCRIBER, String(poison));
      assert.equal(skip.code, 0, skip.stderr);
      assert.match(skip.stdout, new RegExp(`subscriber ${SUBSCRIBER} skipped event ${poison} \\(cli\\.changed, client 2\\)`));
      assert.match(skip.stderr, /"msg":"an operator made an event subscriber skip an event"/);
      assert.match(skip.stderr, /"by":"cli(:[^"]+)?"/);

      await waitFor('the hub to deliver the event after the skipped one', () => delivered.length === 2, 8000);
      assert.deepEqual(delivered, ['1', '3'], 'the poisoned event is never delivered');
      const row = await consumer();
      assert.equal(Number(row.failures), 0);
      assert.ok(Number(row.last_event_id) >= later!);
    });

    it('judges a subscriber it does not load by the filter stored with its checkpoint: lag, stuck at, skip', async () => {
      const [, poison, , later] = await publish(t, [
        { topic: 'elsewhere.changed', entityType: 'client', entityId: 7, payload: {} },
        { topic: 'unplugged.changed', entityType: 'client', entityId: 8, payload: { poison: true } },
        { topic: 'elsewhere.changed', entityType: 'client', entityId: 9, payload: {} },
        { topic: 'unplugged.changed', entityType: 'client', entityId: 10, payload: {} },
      ]);
      bus.poke();
      await waitFor('the failure', async () => Number((await consumer(UNPLUGGED)).failures) >= 1);

      const list = await conveyor(t.db.url, 'events', 'subscribers');
      assert.equal(list.code, 0, list.stderr);
      const line = list.stdout.split('\n').find((l) => l.startsWith(`${UNPLUGGED} `));
      assert.match(line ?? list.stdout, new RegExp(`^${UNPLUGGED}\\s+unplugged\\.\\*\\s+\\d+\\s+2\\s+\\d+\\s+\\S+Z\\s+${poison} \\(unplugged\\.changed, client 8\\)\\s`), 'lag 2: the other topic does not count');

      const wrong = await conveyor(t.db.url, 'events', 'skip', UNPLUGGED, String(later));
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, new RegExp(`is stuck at event ${poison} \\(unplugged\\.changed, client 8\\), not at event ${later}`));
      const skip = await patiently('events', 'skip', UNPLUGGED, String(poison));
      assert.equal(skip.code, 0, skip.stderr);
      await waitFor('the hub to deliver the event after the skipped one', () => unplugged.length === 1, 8000);
      assert.deepEqual(unplugged, ['10']);
    });

    it('forget: refused while the hub runs the subscriber, done with --force (the hub starts it again as new) or when nobody ran it for 5 minutes', async () => {
      const refused = await conveyor(t.db.url, 'events', 'forget', UNPLUGGED);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`Subscriber "${UNPLUGGED}" is in use: a process \\([^)]+:${process.pid}\\) registered it`));
      assert.match(refused.stderr, /--force/);
      assert.ok(await hasRow(UNPLUGGED));

      const forced = await patiently('events', 'forget', UNPLUGGED, '--force');
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, new RegExp(`subscriber ${UNPLUGGED} forgotten \\(its checkpoint was event \\d+\\)`));
      assert.match(forced.stderr, /"msg":"an operator forgot an event subscriber’s checkpoint"/);
      assert.match(forced.stderr, /"force":true/);
      // The hub notices when it next has an event for it, and registers it again.
      await publish(t, [{ topic: 'unplugged.changed', entityType: 'client', entityId: 11, payload: {} }]);
      bus.poke();
      await waitFor('the hub to register it again', () => hasRow(UNPLUGGED), 8000);

      const stale = 'ops-cli-stale';
      const longAgo = Date.now() - 10 * 60_000;
      await t.hub.ctx.db.insertInto('event_consumers').values({ name: stale, last_event_id: 0, updated_at: longAgo, failures: 0, last_error: null, seen_at: longAgo, seen_by: 'gone:1' }).execute();
      const forgotten = await conveyor(t.db.url, 'events', 'forget', stale);
      assert.equal(forgotten.code, 0, forgotten.stderr);
      assert.equal(await hasRow(stale), false);
      const unknown = await conveyor(t.db.url, 'events', 'forget', stale);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, new RegExp(`No event subscriber named "${stale}"`));
    });
  });
}
