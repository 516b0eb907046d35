import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { countRows, startTestHub, type TestHub } from '../support/hub.js';

async function parameterEvents(t: TestHub, entityType: string, entityId: number) {
  const rows = await t.hub.ctx.db
    .selectFrom('events')
    .selectAll()
    .where('topic', '=', `${entityType}.parameters_changed`)
    .where('entity_type', '=', entityType)
    .where('entity_id', '=', String(entityId))
    .orderBy('id')
    .execute();
  return rows.map((r) => JSON.parse(String(r.payload)));
}

for (const kind of TEST_DATABASES) {
  describe(`custom parameter values on ${kind}`, () => {
    let t: TestHub;
    const p: Record<string, number> = {};
    let clientId: number;
    let companyId: number;
    let dealId: number;
    const addParameter = async (key: string, body: Record<string, unknown>) => {
      const res = await t.call('POST', '/parameters', { body });
      assert.equal(res.statusCode, 201, res.body);
      p[key] = res.json().parameterId;
    };

    before(async () => {
      t = await startTestHub(kind);
      await addParameter('phone', { name: 'Телефон', type: 'phone', entityType: 'client' });
      await addParameter('email', { name: 'Email', type: 'email', entityType: 'client' });
      await addParameter('note', { name: 'Заметка', type: 'text', entityType: 'client' });
      await addParameter('birthday', { name: 'Дата рождения', type: 'date', entityType: 'client' });
      await addParameter('score', { name: 'Оценка', type: 'number', entityType: 'client' });
      await addParameter('segment', { name: 'Сегмент', type: 'list', entityType: 'client', options: ['Розница', 'Опт'] });
      await addParameter('inn', { name: 'ИНН директора', type: 'text', entityType: 'company' });
      await addParameter('budget', { name: 'Бюджет', type: 'number', entityType: 'deal' });
      clientId = (await t.call('POST', '/clients', { body: { firstName: 'Пётр', lastName: 'Параметров' } })).json().clientId;
      companyId = (await t.call('POST', '/companies', { body: { name: 'ООО «Вектор»' } })).json().companyId;
      const dealType = (await t.call('POST', '/deal_types', { body: { name: 'Продажа' } })).json().dealTypeId;
      dealId = (await t.call('POST', '/deals', { body: { title: 'Заказ', dealTypeId: dealType, clientId } })).json().dealId;
    });
    after(async () => t.close());

    it('sets typed values, normalised, and reads them back by parameter id', async () => {
      assert.deepEqual((await t.call('GET', `/clients/${clientId}/parameters`)).json(), {});
      const res = await t.call('PUT', `/clients/${clientId}/parameters`, {
        body: {
          [p.phone]: '8 (999) 123-45-67',
          [p.email]: 'Petr@Example.RU',
          [p.note]: 'Любит звонки после обеда',
          [p.birthday]: '1995-06-02T00:00:00Z',
          [p.score]: '4.5',
          [p.segment]: 'Опт',
        },
      });
      assert.equal(res.statusCode, 200, res.body);
      const expected = {
        [p.phone]: '+79991234567',
        [p.email]: 'Petr@example.ru',
        [p.note]: 'Любит звонки после обеда',
        [p.birthday]: '1995-06-02',
        [p.score]: 4.5,
        [p.segment]: 'Опт',
      };
      assert.deepEqual(res.json(), expected);
      assert.deepEqual((await t.call('GET', `/clients/${clientId}/parameters`)).json(), expected);
      const row = await t.hub.ctx.db.selectFrom('parameter_values').selectAll().where('entity_type', '=', 'client').where('entity_id', '=', clientId).where('parameter_id', '=', p.phone).executeTakeFirstOrThrow();
      assert.equal(row.value, '+79991234567');

      const [event] = await parameterEvents(t, 'client', clientId);
      assert.deepEqual(event.changes[String(p.phone)], { from: null, to: '+79991234567' });
      assert.deepEqual(event.changes[String(p.score)], { from: null, to: 4.5 });
      assert.equal(Object.keys(event.changes).length, 6);
    });

    it('changes part of the map; null removes; only real changes are published', async () => {
      const res = await t.call('PUT', `/clients/${clientId}/parameters`, { body: { [p.phone]: '+7 999 123 45 67', [p.score]: 5, [p.note]: null } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json()[p.score], 5);
      assert.equal(res.json()[p.note], undefined, 'removed');
      assert.equal(res.json()[p.segment], 'Опт', 'untouched values stay');
      const events = await parameterEvents(t, 'client', clientId);
      assert.equal(events.length, 2);
      assert.deepEqual(events[1].changes, { [p.score]: { from: 4.5, to: 5 }, [p.note]: { from: 'Любит звонки после обеда', to: null } }, 'the phone normalises to the same value: no change');

      // The same values again, and removing what is not set: nothing changes, no event.
      const same = await t.call('PUT', `/clients/${clientId}/parameters`, { body: { [p.phone]: '89991234567', [p.score]: '5', [p.note]: null } });
      assert.equal(same.statusCode, 200);
      assert.equal((await parameterEvents(t, 'client', clientId)).length, 2);
      assert.equal((await t.call('PUT', `/clients/${clientId}/parameters`, { body: {} })).statusCode, 200);
      assert.equal((await parameterEvents(t, 'client', clientId)).length, 2);
    });

    it('reports every bad key at once (422) and writes nothing', async () => {
      const values = await countRows(t, 'parameter_values');
      const events = await countRows(t, 'events');
      const res = await t.call('PUT', `/clients/${clientId}/parameters`, {
        body: {
          [p.phone]: '12345',
          [p.email]: 'not-an-email',
          [p.birthday]: '2023-02-30',
          [p.score]: 'много',
          [p.segment]: 'VIP',
          [p.note]: 'x'.repeat(10_001),
          [p.inn]: '7707083893',
          '999999': 'x',
          abc: 1,
          [p.budget]: 1,
        },
      });
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().error, 'VALIDATION_FAILED');
      const details = res.json().details as { field: string; message: string }[];
      const byField = Object.fromEntries(details.map((d) => [d.field, d.message]));
      assert.deepEqual(Object.keys(byField).sort(), [p.phone, p.email, p.birthday, p.score, p.segment, p.note, p.inn, p.budget, '999999', 'abc'].map(String).sort());
      assert.match(byField[p.phone], /not a phone number/);
      assert.match(byField[p.segment], /not one of the options: Розница, Опт/);
      assert.match(byField[p.inn], /belongs to company records, not client/);
      assert.equal(byField['999999'], 'no parameter with id 999999');
      assert.equal(byField.abc, 'is not a parameter id');
      assert.equal(await countRows(t, 'parameter_values'), values);
      assert.equal(await countRows(t, 'events'), events);

      // One bad key spoils the whole request.
      const mixed = await t.call('PUT', `/clients/${clientId}/parameters`, { body: { [p.score]: 7, [p.email]: 'bad' } });
      assert.equal(mixed.statusCode, 422);
      assert.equal((await t.call('GET', `/clients/${clientId}/parameters`)).json()[p.score], 5);
    });

    it('works the same for companies and deals, with their own events', async () => {
      const company = await t.call('PUT', `/companies/${companyId}/parameters`, { body: { [p.inn]: '500100732259' } });
      assert.equal(company.statusCode, 200);
      assert.deepEqual(company.json(), { [p.inn]: '500100732259' });
      const deal = await t.call('PUT', `/deals/${dealId}/parameters`, { body: { [p.budget]: 150000 } });
      assert.deepEqual(deal.json(), { [p.budget]: 150000 });
      assert.deepEqual((await t.call('GET', `/deals/${dealId}/parameters`)).json(), { [p.budget]: 150000 });
      assert.deepEqual((await parameterEvents(t, 'company', companyId)).map((e) => e.changes), [{ [p.inn]: { from: null, to: '500100732259' } }]);
      assert.deepEqual((await parameterEvents(t, 'deal', dealId)).map((e) => e.changes), [{ [p.budget]: { from: null, to: 150000 } }]);
      const wrong = await t.call('PUT', `/deals/${dealId}/parameters`, { body: { [p.phone]: '+79991234567' } });
      assert.equal(wrong.statusCode, 422);
      assert.match(wrong.json().details[0].message, /belongs to client records, not deal/);
    });

    it('404 for a missing record; values go with a deleted record or parameter', async () => {
      for (const path of ['/clients/999999/parameters', '/companies/999999/parameters', '/deals/999999/parameters']) {
        assert.equal((await t.call('GET', path)).statusCode, 404, path);
        assert.equal((await t.call('PUT', path, { body: {} })).statusCode, 404, path);
      }
      assert.equal((await t.call('DELETE', `/parameters/${p.segment}`)).statusCode, 204);
      assert.equal((await t.call('GET', `/clients/${clientId}/parameters`)).json()[p.segment], undefined);
      assert.equal((await t.call('DELETE', `/companies/${companyId}`)).statusCode, 204);
      const left = await t.hub.ctx.db.selectFrom('parameter_values').select('parameter_id').where('entity_type', '=', 'company').where('entity_id', '=', companyId).execute();
      assert.deepEqual(left, []);
    });

    it('needs directory.write to change values', async () => {
      const now = Date.now();
      const { hashPassword } = await import('../../src/platform/auth/index.js');
      const { id } = await t.hub.ctx.db.insertInto('employees').values({ username: 'reader', password_hash: await hashPassword('password-1'), active: t.hub.ctx.dialect.bool(true), created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      const role = await t.hub.ctx.db.selectFrom('roles').select('id').where('name', '=', 'Аналитик').executeTakeFirstOrThrow();
      await t.hub.ctx.db.insertInto('employee_roles').values({ employee_id: id, role_id: role.id }).execute();
      const auth: [string, string] = ['reader', 'password-1'];
      assert.equal((await t.call('GET', `/clients/${clientId}/parameters`, { auth })).statusCode, 200);
      assert.equal((await t.call('PUT', `/clients/${clientId}/parameters`, { auth, body: { [p.score]: 1 } })).statusCode, 403);
    });
  });
}
