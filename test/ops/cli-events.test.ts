import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagedEventBus } from '../../src/platform/events/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { waitFor } from '../jobs/support.js';
import { SUBSCRIBER, TOPICS } from './fixtures/poison-plugin.js';
import { conveyor, publish } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`conveyor events … (${kind})`, () => {
    let t: TestHub;
    let bus: ManagedEventBus;
    const delivered: string[] = [];

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
      await bus.start();
    });
    after(async () => {
      await bus.stop();
      await t.close();
    });

    const consumer = () => t.hub.ctx.db.selectFrom('event_consumers').selectAll().where('name', '=', SUBSCRIBER).executeTakeFirstOrThrow();

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
      assert.match(line, new RegExp(`^${SUBSCRIBER}\\s+cli\\.\\*\\s+\\d+\\s+2\\s+12\\s+\\S+Z\\s+${poison} \\(cli\\.changed, client 2\\)\\s+Error: cannot handle client 2$`));

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
  });
}
