import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const PASSWORD = 'lists-password';
const usernames = (res: { json(): any }) => (res.json() as { username: string }[]).map((e) => e.username).sort();

for (const kind of TEST_DATABASES) {
  describe(`employees of a role or department on ${kind}`, () => {
    let t: TestHub;
    const role: Record<string, number> = {};
    const dept: Record<'A' | 'B', number> = { A: 0, B: 0 };
    const as = (username: string): { auth: [string, string] } => ({ auth: [username, PASSWORD] });

    before(async () => {
      t = await startTestHub(kind);
      for (const r of (await t.call('GET', '/roles')).json()) role[r.name] = r.roleId;
      dept.A = (await t.call('POST', '/departments', { body: { name: 'Списки-А' } })).json().departmentId;
      dept.B = (await t.call('POST', '/departments', { body: { name: 'Списки-Б' } })).json().departmentId;
      const staff: [string, string, 'A' | 'B' | null, boolean][] = [
        ['op-a1', 'Оператор', 'A', true],
        ['op-a2', 'Оператор', 'A', false],
        ['op-b', 'Оператор', 'B', true],
        ['an-a', 'Аналитик', 'A', true],
        ['head-a', 'Руководитель подразделения', 'A', true],
        ['head-none', 'Руководитель подразделения', null, true],
      ];
      for (const [username, roleName, d, active] of staff) {
        const res = await t.call('POST', '/employees', { body: { username, password: PASSWORD, departmentId: d ? dept[d] : null, active } });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal((await t.call('PUT', `/employees/${res.json().employeeId}/roles/${role[roleName]}`)).statusCode, 200);
      }
    });
    after(async () => t.close());

    it('lists the holders of a role by id or by name, with filters and paging headers', async () => {
      const byId = await t.call('GET', `/roles/${role['Оператор']}/employees`);
      assert.equal(byId.statusCode, 200);
      assert.deepEqual(usernames(byId), ['op-a1', 'op-a2', 'op-b']);
      assert.equal(byId.headers['x-total-count'], '3');
      assert.ok(byId.json().every((e: { roles: { name: string }[] }) => e.roles.some((r) => r.name === 'Оператор')));

      const byName = await t.call('GET', `/roles/name/${encodeURIComponent('Оператор')}/employees`);
      assert.equal(byName.statusCode, 200);
      assert.deepEqual(byName.json(), byId.json());

      assert.deepEqual(usernames(await t.call('GET', `/roles/${role['Оператор']}/employees?departmentId=${dept.A}&active=true`)), ['op-a1']);
      const page = await t.call('GET', `/roles/${role['Оператор']}/employees?limit=2&sort=username`);
      assert.deepEqual(usernames(page), ['op-a1', 'op-a2']);
      assert.equal(page.headers['x-total-count'], '3');
      assert.match(String(page.headers.link), /offset=2/);
      assert.deepEqual(usernames(await t.call('GET', `/roles/${role['Администратор']}/employees`)), ['Admin']);
    });

    it('answers 404 for an unknown role and 400 for a malformed id', async () => {
      assert.equal((await t.call('GET', '/roles/999999/employees')).statusCode, 404);
      const unknown = await t.call('GET', `/roles/name/${encodeURIComponent('Нет такой')}/employees`);
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.json().description, /Нет такой/);
      assert.equal((await t.call('GET', '/roles/x1/employees')).statusCode, 400);
    });

    it('shows a non-admin only the role holders of their own department', async () => {
      assert.deepEqual(usernames(await t.call('GET', `/roles/${role['Оператор']}/employees`, as('head-a'))), ['op-a1', 'op-a2']);
      assert.deepEqual(usernames(await t.call('GET', `/roles/name/${encodeURIComponent('Оператор')}/employees`, as('head-a'))), ['op-a1', 'op-a2']);
      assert.deepEqual(usernames(await t.call('GET', `/roles/${role['Оператор']}/employees`, as('head-none'))), [], 'no department: nobody');
      assert.equal((await t.call('GET', `/roles/${role['Оператор']}/employees`, as('an-a'))).statusCode, 403, 'no employees.read');
    });

    it('lists the employees of a department; a non-admin only their own', async () => {
      const a = await t.call('GET', `/departments/${dept.A}/employees`);
      assert.equal(a.statusCode, 200);
      assert.deepEqual(usernames(a), ['an-a', 'head-a', 'op-a1', 'op-a2']);
      assert.ok(a.json().every((e: { departmentId: number }) => e.departmentId === dept.A));
      assert.deepEqual(usernames(await t.call('GET', `/departments/${dept.B}/employees`)), ['op-b']);

      assert.deepEqual(usernames(await t.call('GET', `/departments/${dept.A}/employees`, as('head-a'))), ['an-a', 'head-a', 'op-a1', 'op-a2']);
      const other = await t.call('GET', `/departments/${dept.B}/employees`, as('head-a'));
      assert.equal(other.statusCode, 403);
      assert.equal(other.json().error, 'FORBIDDEN');
      assert.match(other.json().description, new RegExp(`departmentId ${dept.A}`));
      assert.equal((await t.call('GET', `/departments/${dept.A}/employees`, as('head-none'))).statusCode, 403);
      assert.equal((await t.call('GET', `/departments/${dept.A}/employees`, as('an-a'))).statusCode, 403);
      assert.equal((await t.call('GET', '/departments/999999/employees')).statusCode, 404);
    });
  });
}
