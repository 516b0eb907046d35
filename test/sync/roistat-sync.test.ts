import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub } from '../support/hub.js';
import { eventually, providerModule, seedDealReference, startSyncHub, STATUS_CONFIG, type SyncFixture } from './support.js';

const importCalls = (f: SyncFixture) => f.emu.requests.filter((r) => r.path.endsWith('/clients/import')).length;
const syncState = async (f: SyncFixture, kind: 'clients' | 'orders', id: number) => {
  const r = await f.hub.call('GET', `/sync/roistat/${kind}/${id}`);
  return r.statusCode === 200 ? (r.json() as Record<string, any>) : undefined;
};
const overview = async (f: SyncFixture) => (await f.hub.call('GET', '/sync/roistat')).json() as Record<string, any>;
async function create(f: SyncFixture, url: string, body: unknown): Promise<number> {
  const r = await f.hub.call('POST', url, { body });
  assert.equal(r.statusCode, 201, `${url}: ${r.body}`);
  const json = r.json() as Record<string, unknown>;
  const idField = { '/parameters': 'parameterId', '/clients': 'clientId', '/deals': 'dealId' }[url]!;
  return Number(json[idField]);
}
/** Everything the detection subscriber has been given is handled, and nothing waits to be sent. */
const settled = (f: SyncFixture) => async () => {
  const o = await overview(f);
  return o.detection.eventsWaiting === 0 && o.clients.pending === 0 && o.orders.pending === 0;
};

for (const kind of TEST_DATABASES) {
  describe(`Roistat sync (${kind})`, () => {
    it('registers clients with the common provider mapping; edits of unused data cost no API call, used data is re-sent', async () => {
      const f = await startSyncHub(kind, { client: { details: { common: { customer: { phone: 1, fields: { source: 2 } } } } } });
      try {
        assert.equal(await create(f, '/parameters', { name: 'Mobile', type: 'phone', entityType: 'client' }), 1);
        assert.equal(await create(f, '/parameters', { name: 'Source', type: 'text', entityType: 'client' }), 2);
        const id = await create(f, '/clients', { firstName: 'Anna', lastName: 'Petrova', email: 'anna@example.com', phone: '+79990000000' });
        assert.equal((await f.hub.call('PUT', `/clients/${id}/parameters`, { body: { '1': '+7 999 123-45-67', '2': 'ads' } })).statusCode, 200);
        const expected = { id: String(id), name: 'Petrova Anna', phone: '+79991234567', email: 'anna@example.com', company: null, birth_date: null, fields: { source: 'ads' } };
        await eventually('the client in Roistat with the mapped parameters', () => isDeepStrictEqual(f.emu.clients.get(String(id)), expected));
        await eventually('sync settled', settled(f));
        const callsBefore = importCalls(f);
        const historyBefore = (await syncState(f, 'clients', id))!.history.length;

        // `available` is not used by the details: detected as unchanged, nothing pending, no call.
        assert.equal((await f.hub.call('PUT', `/clients/${id}`, { body: { available: false } })).statusCode, 200);
        await eventually('the unused change handled', settled(f));
        assert.equal(importCalls(f), callsBefore);
        assert.equal((await syncState(f, 'clients', id))!.state, 'registered');
        assert.equal((await syncState(f, 'clients', id))!.history.length, historyBefore);

        assert.equal((await f.hub.call('PUT', `/clients/${id}`, { body: { lastName: 'Sidorova' } })).statusCode, 200);
        await eventually('the new name in Roistat', () => f.emu.clients.get(String(id))?.name === 'Sidorova Anna');
        await eventually('sync settled', settled(f));
        const state = (await syncState(f, 'clients', id))!;
        assert.equal(state.upToDate, true);
        assert.deepEqual(state.registeredPayload, { ...expected, name: 'Sidorova Anna' });
        const actions: string[] = state.history.map((h: { action: string }) => h.action);
        assert.deepEqual(actions.slice(0, 2), ['registered', 'detected']);
        assert.equal(actions.length, historyBefore + 2);
      } finally {
        await f.close();
      }
    });

    it('deals wait for their client and their status; the whole status list is sent; other deal types stay out', async () => {
      const f = await startSyncHub(kind, { status: STATUS_CONFIG, order: { process: { types: '1' }, details: { provider: 'standard' } } });
      try {
        await seedDealReference(f.hub);
        await eventually('all three statuses registered', () => f.emu.statuses.length === 3);
        assert.deepEqual(f.emu.statuses, [
          { id: '1', name: 'New', type: 'progress' },
          { id: '2', name: 'Paid', type: 'paid' },
          { id: '3', name: 'Cancelled', type: 'canceled' },
        ]);
        const clientId = await create(f, '/clients', { firstName: 'Ivan', lastName: 'Orlov' });
        f.emu.rejectIds.add(String(clientId)); // Roistat refuses the client: the deal must wait
        await eventually('client refused', async () => (await syncState(f, 'clients', clientId))?.state === 'error');
        const dealId = await create(f, '/deals', { title: 'Sofa', clientId, dealTypeId: 1, dealStatusId: 1, amount: 3000 });
        const otherType = await create(f, '/deals', { title: 'Internal move', clientId, dealTypeId: 2, dealStatusId: 1 });
        await eventually('deal detected', async () => (await syncState(f, 'orders', dealId))?.state === 'pending');
        assert.equal(f.emu.orders.has(String(dealId)), false);

        f.emu.rejectIds.clear();
        const retry = await f.hub.call('POST', '/sync/roistat/errors/retry');
        assert.equal(retry.statusCode, 202);
        assert.deepEqual(retry.json(), { queued: { clients: 1, orders: 0 } });
        await eventually('deal registered once its client is', () => f.emu.orders.has(String(dealId)));
        const order = f.emu.orders.get(String(dealId))!;
        assert.equal(order.record.client_id, String(clientId));
        assert.equal(order.record.status, '1');
        assert.equal(order.record.price, '3000');
        assert.equal(order.statusKnown, true);
        assert.equal(f.emu.orders.has(String(otherType)), false);
        assert.equal(await syncState(f, 'orders', otherType), undefined);

        assert.equal((await f.hub.call('PUT', `/deals/${dealId}`, { body: { dealStatusId: 2 } })).statusCode, 200);
        await eventually('status change sent', () => f.emu.orders.get(String(dealId))?.record.status === '2');
        await eventually('sync settled', settled(f));
        const o = await overview(f);
        assert.equal(o.statuses.upToDate, true);
        assert.equal(o.orders.registered, 1);
      } finally {
        await f.close();
      }
    });

    it('a provider that throws marks that one client errored, never the batch; a deal with an unconfigured status is errored with the reason', async () => {
      const path = providerModule(`export default {
        clientDetails(c) {
          if (c.firstName === 'Boom') throw new Error('no phone for Boom');
          return { id: String(c.id), name: c.firstName };
        },
      };`);
      const f = await startSyncHub(kind, { client: { details: { provider: path } }, status: { '1': STATUS_CONFIG['1'] }, order: { process: { types: [1] }, details: { provider: 'standard' } } });
      try {
        await seedDealReference(f.hub);
        const ids: number[] = [];
        for (const name of ['Ann', 'Boom', 'Carl']) ids.push(await create(f, '/clients', { firstName: name }));
        await eventually('Ann and Carl registered', () => f.emu.clients.has(String(ids[0])) && f.emu.clients.has(String(ids[2])));
        const boom = (await syncState(f, 'clients', ids[1]!))!;
        assert.equal(boom.state, 'error');
        assert.deepEqual(boom.lastError, { code: 'BUILD_PROVIDER_ERROR', description: 'the details provider failed: no phone for Boom' });
        assert.equal(f.emu.clients.has(String(ids[1])), false);

        const deal = await create(f, '/deals', { title: 'Paid one', clientId: ids[0], dealTypeId: 1, dealStatusId: 2 });
        await eventually('deal errored', async () => (await syncState(f, 'orders', deal))?.state === 'error');
        assert.match((await syncState(f, 'orders', deal))!.lastError.description, /status "2" is not configured/);
        const o = await overview(f);
        assert.ok(o.lastErrors.some((e: { entityId: number; code: string }) => e.entityId === ids[1] && e.code === 'BUILD_PROVIDER_ERROR'));
      } finally {
        await f.close();
      }
    });

    it('Roistat down: errors recorded, retried only after syncInterval, all registered once it is back', async () => {
      const f = await startSyncHub(kind, {}, { syncIntervalHours: 0.0005 }); // 1.8 s
      try {
        f.emu.down = true;
        const ids = [await create(f, '/clients', { firstName: 'Olga' }), await create(f, '/clients', { firstName: 'Petr' })];
        await eventually('both errored', async () => (await Promise.all(ids.map((id) => syncState(f, 'clients', id)))).every((s) => s?.state === 'error'));
        const failedAt = Math.max(...(await Promise.all(ids.map(async (id) => (await syncState(f, 'clients', id))!.lastAttemptAt as number))));
        assert.equal((await syncState(f, 'clients', ids[0]!))!.lastError.code, 'ROISTAT_UNAVAILABLE');
        f.emu.down = false;
        await eventually('both registered after the outage', async () => (await overview(f)).clients.registered === 2);
        assert.ok(ids.every((id) => f.emu.clients.has(String(id))));
        for (const id of ids) {
          const s = (await syncState(f, 'clients', id))!;
          assert.equal(s.state, 'registered');
          assert.ok(s.registeredAt - failedAt >= 1800 - 50, `retried ${s.registeredAt - failedAt} ms after the failure, before syncInterval`);
        }
      } finally {
        await f.close();
      }
    });

    it('a configuration error halts the registrars without burning retries; resume after the fix registers everything', async () => {
      const f = await startSyncHub(kind);
      try {
        f.emu.options.clientManagement = false; // 402 option_not_enabled
        const id = await create(f, '/clients', { firstName: 'Halt' });
        await eventually('halted', async () => (await overview(f)).halted !== null);
        const o = await overview(f);
        assert.equal(o.halted.code, 'ROISTAT_CONFIG_ERROR');
        assert.equal(o.halted.apiError, 'option_not_enabled');
        const calls = importCalls(f);
        const second = await create(f, '/clients', { firstName: 'Waits' });
        await eventually('second detected', async () => (await syncState(f, 'clients', second))?.state === 'pending');
        await new Promise((r) => setTimeout(r, 300)); // ten registrar periods
        assert.equal(importCalls(f), calls, 'no calls while halted');
        const stuck = (await syncState(f, 'clients', id))!;
        assert.equal(stuck.state, 'pending');
        assert.equal(stuck.attempts, 0);
        const metrics = await f.hub.call('GET', '/metrics');
        assert.match(metrics.body, /conveyor_sync_halted\{target="roistat"\} 1/);

        f.emu.options.clientManagement = true;
        assert.deepEqual((await f.hub.call('POST', '/sync/roistat/resume')).json(), { resumed: true });
        await eventually('both registered after resume', () => f.emu.clients.has(String(id)) && f.emu.clients.has(String(second)));
        assert.equal((await overview(f)).halted, null);
      } finally {
        await f.close();
      }
    });

    it('a record Roistat rejects is isolated by bisection; the rest of its batch goes through; force re-registration works', async () => {
      const f = await startSyncHub(kind);
      try {
        f.emu.down = true; // collect a batch first
        const ids: number[] = [];
        for (let i = 0; i < 9; i++) ids.push(await create(f, '/clients', { firstName: `C${i}` }));
        f.emu.rejectIds.add(String(ids[4]));
        await eventually('all errored while down', async () => (await overview(f)).clients.error === 9);
        f.emu.down = false;
        assert.equal((await f.hub.call('POST', '/sync/roistat/errors/retry')).statusCode, 202);
        await eventually('eight registered, one refused', async () => {
          const o = await overview(f);
          return o.clients.registered === 8 && o.clients.error === 1;
        });
        assert.equal(ids.filter((id) => f.emu.clients.has(String(id))).length, 8);
        const bad = (await syncState(f, 'clients', ids[4]!))!;
        assert.equal(bad.state, 'error');
        assert.equal(bad.lastError.code, 'ROISTAT_REQUEST_ERROR');
        f.emu.rejectIds.clear();
        const forced = await f.hub.call('POST', `/sync/roistat/clients/${ids[4]}/register`);
        assert.equal(forced.statusCode, 202);
        assert.equal(forced.json().queued, true);
        await eventually('the rejected one registered after the fix', () => f.emu.clients.has(String(ids[4])));
        assert.equal((await f.hub.call('POST', '/sync/roistat/clients/999999/register')).statusCode, 404);
      } finally {
        await f.close();
      }
    });

    it('a hub that already holds clients and deals when the sync is switched on registers them all (full scan)', async () => {
      // The demo directory (30 clients, deals of types 1..n) exists before the sync's first start.
      const f = await startSyncHub(kind, { status: STATUS_CONFIG, order: { process: { types: [1] }, details: { provider: 'standard' } } }, { demo: true });
      try {
        const clients = Number((await f.hub.hub.ctx.db.selectFrom('clients').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
        assert.ok(clients >= 30);
        await eventually('every demo client registered', () => f.emu.clients.size === clients, 30_000);
        await eventually('sync settled', settled(f), 30_000);
        const o = await overview(f);
        assert.deepEqual(o.fullScan, { running: false, phase: 'done', afterId: 0 });
        assert.equal(o.clients.registered, clients);
        const dealsOfType1 = await f.hub.hub.ctx.db.selectFrom('deals').select(['id', 'deal_status_id']).where('deal_type_id', '=', 1).execute();
        const sendable = dealsOfType1.filter((d) => d.deal_status_id === null || Number(d.deal_status_id) <= 3);
        assert.equal(o.orders.registered, sendable.length);
        assert.equal(f.emu.orders.size, sendable.length);
      } finally {
        await f.close();
      }
    });

    it('the example deal provider decides statuses from the hub status group and amount; the hourly re-send sends recent deals again', async () => {
      const f = await startSyncHub(kind, {
        order: { process: { types: [1] }, details: { provider: 'examples/roistat/order-details-provider.ts' }, resend: { enabled: true } },
        status: {
          '1': { id: 'new', title: 'New' },
          '2': { id: 'paid', title: 'Paid', type: 'paid' },
          '3': { id: 'lost', title: 'Lost', type: 'canceled' },
          '4': { id: 'free', title: 'Free', type: 'canceled' },
        },
      });
      try {
        await seedDealReference(f.hub); // statuses 1 New (progress), 2 Paid (paid), 3 Cancelled (canceled)
        const clientId = await create(f, '/clients', { firstName: 'Vera' });
        const paid = await create(f, '/deals', { title: 'Sofa', clientId, dealTypeId: 1, dealStatusId: 2, amount: 5000 });
        const gift = await create(f, '/deals', { title: 'Gift', clientId, dealTypeId: 1, dealStatusId: 2, amount: 0 });
        const lost = await create(f, '/deals', { title: 'Chair', clientId, dealTypeId: 1, dealStatusId: 3, amount: 700 });
        const test = await create(f, '/deals', { title: 'TEST order', clientId, dealTypeId: 1, dealStatusId: 1 });
        await eventually('three deals registered', async () => (await overview(f)).orders.registered === 3);
        assert.equal(f.emu.orders.get(String(paid))!.record.status, 'paid');
        assert.equal(f.emu.orders.get(String(gift))!.record.status, 'free');
        assert.equal(f.emu.orders.get(String(lost))!.record.status, 'lost');
        assert.deepEqual(f.emu.orders.get(String(paid))!.record.fields, { 'Deal type': 'Order' });
        assert.equal(f.emu.orders.has(String(test)), false);

        const before = f.emu.requests.filter((r) => r.path.endsWith('/add-orders')).length;
        const outcome = await f.hub.hub.roistat!.registrars.resendRecentOrders();
        assert.deepEqual({ registered: outcome.registered, failed: outcome.failed, stop: outcome.stop }, { registered: 3, failed: 0, stop: 'idle' });
        const resends = f.emu.requests.filter((r) => r.path.endsWith('/add-orders')).slice(before);
        assert.deepEqual(resends.map((r) => r.records), [3]);
      } finally {
        await f.close();
      }
    });

    it('a disabled sync answers plainly: GET says so, POSTs are 409 with the key to set, and all need credentials', async () => {
      const plain = await startTestHub(kind);
      try {
        assert.deepEqual((await plain.call('GET', '/sync/roistat')).json(), { enabled: false });
        const r = await plain.call('POST', '/sync/roistat/errors/retry');
        assert.equal(r.statusCode, 409);
        assert.match(r.json().description, /plugin\.roistat\.enabled/);
        assert.equal((await plain.call('GET', '/sync/roistat', { auth: null })).statusCode, 401);
      } finally {
        await plain.close();
      }
    });
  });
}
