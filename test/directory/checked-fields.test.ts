import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// Phones, emails and company identifiers sent to the directory are checked and stored in one form,
// so that lookups and CRM duplicate matching see one spelling of a number.

for (const kind of TEST_DATABASES) {
  describe(`checked directory fields on ${kind}`, () => {
    let t: TestHub;
    before(async () => {
      t = await startTestHub(kind);
    });
    after(async () => t.close());

    it('stores a client phone in E.164 and an email with a lower-case domain, and finds it by any spelling', async () => {
      const added = await t.call('POST', '/clients/add', { body: { firstName: 'Анна', phone: '8 (916) 823-34-54', email: 'Anna@Example.RU' } });
      assert.equal(added.statusCode, 200, added.body);
      assert.equal(added.json().phone, '+79168233454');
      assert.equal(added.json().email, 'Anna@example.ru');
      const found = await t.call('GET', `/clients?phone=${encodeURIComponent('+7 916 823-34-54')}`);
      assert.deepEqual(found.json().map((c: { clientId: number }) => c.clientId), [added.json().clientId]);
      const edited = await t.call('PATCH', `/clients/${added.json().clientId}`, { body: { phone: '916 823 34 55' } });
      assert.equal(edited.json().phone, '+79168233455');
    });

    it('refuses an invalid phone or email with 422 naming the field, and stores nothing', async () => {
      const before = (await t.call('GET', '/clients?limit=5000')).json().length;
      for (const body of [{ firstName: 'Б', phone: '12' }, { firstName: 'Б', phone: '+7 916 823-34-54 доб. 5' }, { firstName: 'Б', email: 'not-an-email' }]) {
        const r = await t.call('POST', '/clients', { body });
        assert.equal(r.statusCode, 422, JSON.stringify(body));
        const field = Object.keys(body).find((k) => k !== 'firstName')!;
        assert.equal(r.json().error, 'VALIDATION_FAILED');
        assert.equal(r.json().details[0].field, field);
        assert.match(r.json().description, new RegExp(`^${field}: `));
      }
      assert.equal((await t.call('GET', '/clients?limit=5000')).json().length, before);
      const byBadFilter = await t.call('GET', '/clients?email=nobody');
      assert.equal(byBadFilter.statusCode, 422);
    });

    it('checks INN, OGRN and KPP of companies by their check digits and format', async () => {
      const ok = await t.call('POST', '/companies', { body: { name: 'ПАО Сбербанк', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001' } });
      assert.equal(ok.statusCode, 201, ok.body);
      for (const [field, value, reason] of [
        ['inn', '7707083894', /check digit/],
        ['inn', 'abc', /10 digits/],
        ['ogrn', '1027700132194', /check digit/],
        ['kpp', '7736ab001', /9 characters/],
      ] as const) {
        const r = await t.call('POST', '/companies', { body: { name: `Ошибка ${field}`, [field]: value } });
        assert.equal(r.statusCode, 422, `${field}=${value}`);
        assert.equal(r.json().details[0].field, field);
        assert.match(r.json().details[0].message, reason);
      }
      const edit = await t.call('PUT', `/companies/edit/${ok.json().companyId}`, { body: { inn: '1717586110' } });
      assert.equal(edit.statusCode, 422);
      assert.equal((await t.call('GET', `/companies/${ok.json().companyId}`)).json().inn, '7707083893', 'a refused edit changes nothing');
    });

    it('checks employee phones and emails the same way', async () => {
      const r = await t.call('POST', '/employees', { body: { username: 'checked.fields', password: 'long-enough-1', phone: '8 800 555 35 35', email: 'ops@Conveyor.Example' } });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().phone, '+78005553535');
      assert.equal(r.json().email, 'ops@conveyor.example');
      assert.equal((await t.call('POST', '/employees', { body: { username: 'checked.bad', password: 'long-enough-1', phone: 'none' } })).statusCode, 422);
    });
  });
}
