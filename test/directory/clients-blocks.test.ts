import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { countRows, eventRows, startTestHub, type TestHub } from '../support/hub.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();


for (const kind of TEST_DATABASES) {
  describe(`channel blocks per client on ${kind}`, () => {
    const clock = { t: Date.parse('2024-05-01T08:00:00Z'), now: () => clock.t };
    let t: TestHub;
    let clientId: number;
    let otherId: number;
    before(async () => {
      t = await startTestHub(kind, { clock });
      clientId = (await t.call('POST', '/clients', { body: { firstName: 'Ирина', lastName: 'Блокова' } })).json().clientId;
      otherId = (await t.call('POST', '/clients', { body: { firstName: 'Олег', lastName: 'Другой' } })).json().clientId;
    });
    after(async () => t.close());

    it('blocks temporarily and permanently; a temporary block whose time passed is reported inactive', async () => {
      const temp = await t.call('POST', `/clients/${clientId}/blocks`, { body: { sendChannelTypeId: 1, until: iso(clock.t + HOUR), reason: 'просил не писать сегодня' } });
      assert.equal(temp.statusCode, 201);
      assert.equal(temp.json().clientId, clientId);
      assert.equal(temp.json().sendChannelTypeId, 1);
      assert.equal(temp.json().permanent, false);
      assert.equal(temp.json().active, true);

      const forever = await t.call('POST', `/clients/${clientId}/blocks`, { body: { sendChannelTypeId: 3 } });
      assert.equal(forever.statusCode, 201);
      assert.equal(forever.json().until, null);
      assert.equal(forever.json().permanent, true);

      clock.t += HOUR + 1;
      const list = await t.call('GET', `/clients/${clientId}/blocks`);
      assert.equal(list.statusCode, 200);
      assert.equal(list.headers['x-total-count'], '2');
      assert.deepEqual(list.json().map((b: { channelBlockId: number; active: boolean }) => [b.channelBlockId, b.active]), [
        [temp.json().channelBlockId, false],
        [forever.json().channelBlockId, true],
      ]);
      assert.deepEqual((await t.call('GET', `/clients/${clientId}/blocks?active=true`)).json().map((b: { sendChannelTypeId: number }) => b.sendChannelTypeId), [3]);
      assert.deepEqual((await t.call('GET', `/clients/${clientId}/blocks?active=false`)).json().map((b: { sendChannelTypeId: number }) => b.sendChannelTypeId), [1]);
      assert.deepEqual((await t.call('GET', `/clients/${otherId}/blocks`)).json(), [], 'blocks belong to their client');

      // The expired SMS block does not stand in the way of a new one.
      assert.equal((await t.call('POST', `/clients/${clientId}/blocks`, { body: { sendChannelTypeId: 1, until: null } })).statusCode, 201);
      const topics = (await eventRows(t, 'channel_block', temp.json().channelBlockId)).map((e) => e.topic);
      assert.deepEqual(topics, ['channel_block.created']);
    });

    it('refuses a second active block of a channel (409) and bad input (404/422) without writing events', async () => {
      const before = await countRows(t, 'events');
      const dup = await t.call('POST', `/clients/${clientId}/blocks`, { body: { sendChannelTypeId: 3, until: iso(clock.t + HOUR) } });
      assert.equal(dup.statusCode, 409);
      assert.match(dup.json().description, /already blocked/);
      const past = await t.call('POST', `/clients/${clientId}/blocks`, { body: { sendChannelTypeId: 2, until: iso(clock.t - 1) } });
      assert.equal(past.statusCode, 422);
      assert.deepEqual(past.json().details, [{ field: 'until', message: 'must be in the future' }]);
      assert.equal((await t.call('POST', `/clients/${clientId}/blocks`, { body: { sendChannelTypeId: 99 } })).statusCode, 422);
      assert.equal((await t.call('POST', `/clients/${clientId}/blocks`, { body: {} })).statusCode, 422);
      assert.equal((await t.call('POST', '/clients/999999/blocks', { body: { sendChannelTypeId: 2 } })).statusCode, 404);
      assert.equal((await t.call('GET', '/clients/999999/blocks')).statusCode, 404);
      assert.equal((await t.call('PUT', '/send_channel_types/99/block', { body: { clientId } })).statusCode, 404);
      assert.equal((await t.call('PUT', '/send_channel_types/2/block', { body: { clientId: 999999 } })).statusCode, 422);
      assert.equal(await countRows(t, 'events'), before);
    });

    it('PUT /send_channel_types/:id/block creates a block, then changes the active one', async () => {
      const first = await t.call('PUT', '/send_channel_types/4/block', { body: { clientId: otherId, until: iso(clock.t + HOUR), reason: 'отпуск' } });
      assert.equal(first.statusCode, 200);
      assert.equal(first.json().sendChannelTypeId, 4);
      assert.equal(first.json().active, true);
      const second = await t.call('PUT', '/send_channel_types/4/block', { body: { clientId: otherId } });
      assert.equal(second.statusCode, 200);
      assert.equal(second.json().channelBlockId, first.json().channelBlockId, 'the active block is changed, not duplicated');
      assert.equal(second.json().permanent, true, 'absent until means permanent');
      assert.equal(second.json().reason, 'отпуск', 'a reason not sent keeps its value');
      const stored = await eventRows(t, 'channel_block', first.json().channelBlockId);
      assert.deepEqual(stored.map((e) => e.topic), ['channel_block.created', 'channel_block.updated']);
      assert.deepEqual(JSON.parse(String(stored[1].payload)).changes.until, { from: iso(clock.t + HOUR).replace('Z', '+00:00'), to: null });
      assert.equal((await t.call('GET', `/clients/${otherId}/availability?sendChannelTypeId=4`)).json().available, 'false');
    });

    it('DELETE lifts a block only through its own client', async () => {
      const block = (await t.call('GET', `/clients/${otherId}/blocks`)).json()[0];
      assert.equal((await t.call('DELETE', `/clients/${clientId}/blocks/${block.channelBlockId}`)).statusCode, 404, 'another client’s block');
      assert.equal((await t.call('DELETE', `/clients/${otherId}/blocks/${block.channelBlockId}`)).statusCode, 204);
      assert.equal((await t.call('DELETE', `/clients/${otherId}/blocks/${block.channelBlockId}`)).statusCode, 404);
      assert.deepEqual((await t.call('GET', `/clients/${otherId}/blocks`)).json(), []);
      assert.equal((await eventRows(t, 'channel_block', block.channelBlockId)).at(-1)?.topic, 'channel_block.deleted');
      assert.equal((await t.call('GET', `/clients/${otherId}/availability?sendChannelTypeId=4`)).json().available, 'true');
    });
  });
}
