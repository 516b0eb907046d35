import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainEvent } from '../../src/platform/events/index.js';
import type { ManagedEventBus } from '../../src/platform/events/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

for (const kind of TEST_DATABASES) {
  describe(`directory changes reach in-process subscribers on ${kind}`, () => {
    let t: TestHub;
    const seen: DomainEvent[] = [];
    before(async () => {
      t = await startTestHub(kind);
      t.hub.ctx.events.subscribe('test-recorder', async (e) => void seen.push(e), { topics: ['client.*'] });
    });
    after(async () => t.close());

    it('delivers every committed change once, in order per client, and nothing that was refused', async () => {
      const bus = t.hub.ctx.events as ManagedEventBus;
      await bus.drain(); // registers the subscriber's checkpoint
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await t.call('POST', '/clients', { body: { firstName: `C${i}` } })).json().clientId);
      for (const id of ids) await t.call('PUT', `/clients/${id}`, { body: { lastName: 'Changed' } });
      assert.equal((await t.call('POST', '/clients', { body: { companyId: 424242 } })).statusCode, 422);
      await t.call('DELETE', `/clients/${ids[0]}`);
      await bus.drain();

      for (const id of ids) {
        const topics = seen.filter((e) => e.entityId === String(id)).map((e) => e.topic);
        const expected = id === ids[0] ? ['client.created', 'client.updated', 'client.deleted'] : ['client.created', 'client.updated'];
        assert.deepEqual(topics, expected, `events of client ${id}`);
      }
      assert.equal(seen.length, 11);
      assert.ok(seen.every((e, i) => i === 0 || e.id > seen[i - 1].id), 'in event order');
      assert.equal((seen[5].payload as { changes: { lastName: { to: string } } }).changes.lastName.to, 'Changed');
    });
  });
}
