import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

async function clientEvents(t: TestHub, clientId: number) {
  const rows = await t.hub.ctx.db.selectFrom('events').selectAll().where('entity_type', '=', 'client').where('entity_id', '=', String(clientId)).where('topic', '=', 'client.groups_changed').orderBy('id').execute();
  return rows.map((r) => JSON.parse(String(r.payload)));
}

for (const kind of TEST_DATABASES) {
  describe(`client group membership on ${kind}`, () => {
    let t: TestHub;
    let retail: number;
    let wholesale: number;
    const clients: number[] = [];
    before(async () => {
      t = await startTestHub(kind);
      retail = (await t.call('POST', '/client_groups', { body: { name: 'Розница' } })).json().clientGroupId;
      wholesale = (await t.call('POST', '/client_groups', { body: { name: 'Опт' } })).json().clientGroupId;
      for (const name of ['Анна', 'Борис', 'Вера']) clients.push((await t.call('POST', '/clients', { body: { firstName: name } })).json().clientId);
    });
    after(async () => t.close());

    const members = async (group: number, query = '') => (await t.call('GET', `/client_groups/${group}/clients${query}`)).json().map((c: { clientId: number }) => c.clientId);
    const groupsOf = async (client: number) => (await t.call('GET', `/clients/${client}/groups`)).json().map((g: { clientGroupId: number }) => g.clientGroupId);

    it('adds members once, lists both ways, and publishes client.groups_changed only on a change', async () => {
      const [anna, boris] = clients;
      assert.equal((await t.call('PUT', `/client_groups/${retail}/clients/${anna}`)).statusCode, 204);
      assert.equal((await t.call('PUT', `/client_groups/${retail}/clients/${anna}`)).statusCode, 204, 'repeatable');
      assert.equal((await t.call('PUT', `/client_groups/${wholesale}/clients/${anna}`)).statusCode, 204);
      assert.equal((await t.call('PUT', `/client_groups/${retail}/clients/${boris}`)).statusCode, 204);

      assert.deepEqual(await members(retail), [anna, boris]);
      assert.deepEqual(await members(wholesale), [anna]);
      assert.deepEqual(await members(retail, '?q=борис'), [boris], 'the usual list filters apply');
      const paged = await t.call('GET', `/client_groups/${retail}/clients?limit=1`);
      assert.equal(paged.headers['x-total-count'], '2');
      assert.ok(paged.headers.link);
      assert.deepEqual(await groupsOf(anna), [retail, wholesale]);
      assert.deepEqual((await t.call('GET', `/clients/${anna}/groups`)).json()[0].name, 'Розница');

      assert.deepEqual(await clientEvents(t, anna), [
        { added: [retail], removed: [], clientGroupIds: [retail] },
        { added: [wholesale], removed: [], clientGroupIds: [retail, wholesale] },
      ]);
    });

    it('removes members; removing a non-member is a 404 and publishes nothing', async () => {
      const [anna] = clients;
      assert.equal((await t.call('DELETE', `/client_groups/${retail}/clients/${anna}`)).statusCode, 204);
      assert.deepEqual(await groupsOf(anna), [wholesale]);
      const again = await t.call('DELETE', `/client_groups/${retail}/clients/${anna}`);
      assert.equal(again.statusCode, 404);
      assert.match(again.json().description, /not a member/);
      const payloads = await clientEvents(t, anna);
      assert.equal(payloads.length, 3);
      assert.deepEqual(payloads[2], { added: [], removed: [retail], clientGroupIds: [wholesale] });
    });

    it('404 for a missing group or client, and no event', async () => {
      const before = await t.hub.ctx.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal((await t.call('PUT', `/client_groups/999/clients/${clients[2]}`)).statusCode, 404);
      assert.equal((await t.call('PUT', `/client_groups/${retail}/clients/999999`)).statusCode, 404);
      assert.equal((await t.call('GET', '/client_groups/999/clients')).statusCode, 404);
      assert.equal((await t.call('GET', '/clients/999999/groups')).statusCode, 404);
      const after = await t.hub.ctx.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n));
      assert.deepEqual(await groupsOf(clients[2]), []);
    });
  });
}
