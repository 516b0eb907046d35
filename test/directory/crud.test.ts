import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { eventRows, startTestHub, type TestHub } from '../support/hub.js';


for (const kind of TEST_DATABASES) {
  describe(`directory CRUD on ${kind}`, () => {
    let t: TestHub;
    before(async () => {
      t = await startTestHub(kind);
    });
    after(async () => t.close());

    it('adds, reads, edits and deletes in both the 003 and the REST forms', async () => {
      const added = await t.call('POST', '/companies/add', { body: { name: 'ООО «Ромашка»', inn: '7707083893' } });
      assert.equal(added.statusCode, 200);
      const company = added.json();
      assert.equal(company.name, 'ООО «Ромашка»');
      assert.match(company.createTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/);

      const created = await t.call('POST', '/companies', { body: { name: 'Вектор' } });
      assert.equal(created.statusCode, 201);
      const id = created.json().companyId;

      assert.equal((await t.call('GET', `/companies/${id}`)).json().name, 'Вектор');
      const edited = await t.call('PUT', `/companies/edit/${id}`, { body: { phone: '+74951234567' } });
      assert.equal(edited.statusCode, 200);
      assert.equal(edited.json().name, 'Вектор', 'fields not sent keep their values');
      assert.equal(edited.json().phone, '+74951234567');
      const patched = await t.call('PATCH', `/companies/${id}`, { body: { name: 'Вектор-2' } });
      assert.equal(patched.json().name, 'Вектор-2');
      assert.equal((await t.call('PUT', `/companies/${id}`, { body: { website: 'https://v.example' } })).json().website, 'https://v.example');

      assert.equal((await t.call('DELETE', `/companies/delete/${id}`)).statusCode, 204);
      assert.equal((await t.call('GET', `/companies/${id}`)).statusCode, 404);
      assert.equal((await t.call('DELETE', `/companies/${company.companyId}`)).statusCode, 204);
      assert.equal((await t.call('DELETE', `/companies/${company.companyId}`)).statusCode, 404);
    });

    it('writes one event per change in the same transaction, with the changed fields only', async () => {
      const id = (await t.call('POST', '/clients', { body: { firstName: 'Анна', lastName: 'Смирнова' } })).json().clientId;
      await t.call('PUT', `/clients/${id}`, { body: { lastName: 'Кузнецова', firstName: 'Анна' } });
      await t.call('PUT', `/clients/${id}`, { body: { lastName: 'Кузнецова' } }); // no change: no event
      await t.call('DELETE', `/clients/${id}`);
      const events = await eventRows(t, 'client', id);
      assert.deepEqual(events.map((e) => e.topic), ['client.created', 'client.updated', 'client.deleted']);
      const changes = JSON.parse(String(events[1].payload)).changes;
      assert.deepEqual(Object.keys(changes), ['lastName']);
      assert.deepEqual(changes.lastName, { from: 'Смирнова', to: 'Кузнецова' });
    });

    it('a refused write leaves neither a row nor an event', async () => {
      const before = await t.hub.ctx.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      const res = await t.call('POST', '/clients', { body: { firstName: 'X', companyId: 999999 } });
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().error, 'REFERENCE_NOT_FOUND');
      assert.match(res.json().description, /companyId: Company 999999 does not exist/);
      const after = await t.hub.ctx.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n));
    });

    it('lists with filters, case-insensitive search (Cyrillic too), sorting and paging headers', async () => {
      const group = (await t.call('POST', '/client_groups', { body: { name: 'Поиск' } })).json();
      assert.ok(group.clientGroupId);
      for (const [first, last] of [['Борис', 'Яковлев'], ['борис', 'Алексеев'], ['Глеб', 'Борисов'], ['Дарья', 'Жукова']]) {
        assert.equal((await t.call('POST', '/clients', { body: { firstName: first, lastName: last, available: last !== 'Жукова' } })).statusCode, 201);
      }
      const found = await t.call('GET', '/clients/search?q=БОРИС&sort=lastName');
      assert.equal(found.statusCode, 200);
      assert.deepEqual(found.json().map((c: { lastName: string }) => c.lastName), ['Алексеев', 'Борисов', 'Яковлев']);

      const unavailable = (await t.call('GET', '/clients?available=false')).json();
      assert.ok(unavailable.some((c: { lastName: string }) => c.lastName === 'Жукова'));
      assert.ok(unavailable.every((c: { available: boolean }) => c.available === false));

      const page = await t.call('GET', '/clients?limit=2&sort=-clientId');
      assert.equal(page.json().length, 2);
      const total = Number(page.headers['x-total-count']);
      assert.ok(total >= 4);
      const next = new URL(String(page.headers.link).replace(/^<(.*)>; rel="next"$/, '$1'), 'http://x');
      assert.equal(next.searchParams.get('offset'), '2');
      assert.equal(next.searchParams.get('limit'), '2');
      const ids = page.json().map((c: { clientId: number }) => c.clientId);
      assert.ok(ids[0] > ids[1], 'sorted descending');
      const second = (await t.call('GET', '/clients?page=1&size=2&sort=-clientId')).json();
      assert.ok(second[0].clientId < ids[1], 'page 1 continues where page 0 stopped');

      const bad = await t.call('GET', '/clients?sort=password');
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().description, /Cannot sort by "password"/);
      const unknownFilter = await t.call('GET', '/clients?colour=red');
      assert.equal(unknownFilter.statusCode, 400);
    });

    it('gets by exact name and searches reference data', async () => {
      const res = await t.call('GET', `/communication_types/name/${encodeURIComponent('Опрос')}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().communicationTypeId, 4);
      assert.equal((await t.call('GET', '/communication_types/name/nope')).statusCode, 404);
    });

    it('refuses duplicates with 409 and unknown or missing fields with 422, listing every problem', async () => {
      const dup = await t.call('POST', '/communication_types', { body: { name: 'Опрос' } });
      assert.equal(dup.statusCode, 409);
      assert.match(dup.json().description, /name "Опрос" already exists/);

      const bad = await t.call('POST', '/deals', { body: { amount: -5, colour: 'red' } });
      assert.equal(bad.statusCode, 422);
      assert.equal(bad.json().error, 'VALIDATION_FAILED');
      const fields = bad.json().details.map((d: { field: string; message: string }) => `${d.field} ${d.message}`).join('\n');
      assert.match(fields, /unknown field "colour"/);
      assert.match(fields, /required field "title"/);
      assert.match(fields, /required field "dealTypeId"/);
      assert.match(fields, /amount/);

      const date = await t.call('POST', '/clients', { body: { birthDate: '02.06.1995' } });
      assert.equal(date.statusCode, 422);
      assert.match(date.json().description, /birthDate must be an ISO-8601 date/);

      const id = await t.call('GET', '/clients/abc');
      assert.equal(id.statusCode, 400);
    });

    it('read-only fields sent back from a GET are accepted and ignored', async () => {
      const c = (await t.call('POST', '/clients', { body: { firstName: 'Michael', lastName: 'Jordan' } })).json();
      const res = await t.call('PUT', `/clients/edit/${c.clientId}`, { body: { ...c, clientId: 1, createTime: '2000-01-01T00:00:00Z', lastName: 'Tyson' } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().clientId, c.clientId);
      assert.equal(res.json().createTime, c.createTime);
      assert.equal(res.json().lastName, 'Tyson');
    });

    it('refuses to delete a record others still refer to (409) and keeps it', async () => {
      const type = (await t.call('POST', '/deal_types', { body: { name: 'Опт' } })).json();
      const deal = await t.call('POST', '/deals', { body: { title: 'Заказ', dealTypeId: type.dealTypeId } });
      assert.equal(deal.statusCode, 201);
      const del = await t.call('DELETE', `/deal_types/${type.dealTypeId}`);
      assert.equal(del.statusCode, 409);
      assert.equal((await t.call('GET', `/deal_types/${type.dealTypeId}`)).statusCode, 200);
    });

    it('deleting a company tells subscribers about every record it touches', async () => {
      const company = (await t.call('POST', '/companies', { body: { name: 'Уходящая' } })).json();
      const client = (await t.call('POST', '/clients', { body: { firstName: 'Остаётся', companyId: company.companyId } })).json();
      const contact = (await t.call('POST', '/contacts', { body: { companyId: company.companyId, lastName: 'Контакт' } })).json();
      assert.equal((await t.call('DELETE', `/companies/${company.companyId}`)).statusCode, 204);
      assert.equal((await t.call('GET', `/clients/${client.clientId}`)).json().companyId, null);
      assert.equal((await t.call('GET', `/contacts/${contact.contactId}`)).statusCode, 404);
      const clientEvents = await eventRows(t, 'client', client.clientId);
      assert.deepEqual(JSON.parse(String(clientEvents.at(-1)!.payload)).changes, { companyId: { from: company.companyId, to: null } });
      assert.equal((await eventRows(t, 'contact', contact.contactId)).at(-1)!.topic, 'contact.deleted');
    });

    it('never returns password hashes', async () => {
      const res = await t.call('POST', '/employees', { body: { username: 'ivan', password: 'long-enough-1' } });
      assert.equal(res.statusCode, 201);
      assert.equal('password' in res.json(), false);
      const list = await t.call('GET', '/employees');
      assert.doesNotMatch(list.body, /scrypt\$|long-enough-1/);
    });
  });
}
