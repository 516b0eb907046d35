import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_PERMISSIONS } from '../../src/platform/auth/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const PASSWORD = 'me-password-1';

for (const kind of TEST_DATABASES) {
  describe(`the caller's own profile and password on ${kind}`, () => {
    let t: TestHub;
    const role: Record<string, { roleId: number; permissions: string[]; sendGrants: { communicationTypeId: number; sendChannelTypeId: number }[] }> = {};
    let seq = 0;

    async function addEmployee(...roles: string[]): Promise<{ id: number; auth: [string, string] }> {
      const username = `me${++seq}`;
      const res = await t.call('POST', '/employees', { body: { username, password: PASSWORD, firstName: 'Мария' } });
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json().employeeId as number;
      for (const r of roles) assert.equal((await t.call('PUT', `/employees/${id}/roles/${role[r].roleId}`)).statusCode, 200);
      return { id, auth: [username, PASSWORD] };
    }
    const passwordEvents = async (id: number) =>
      t.hub.ctx.db.selectFrom('events').select('payload').where('topic', '=', 'employee.password_changed').where('entity_id', '=', String(id)).execute();

    before(async () => {
      t = await startTestHub(kind);
      for (const r of (await t.call('GET', '/roles')).json()) role[r.name] = r;
    });
    after(async () => t.close());

    it('GET /me returns the employee with effective permissions (admin implies every one)', async () => {
      const res = await t.call('GET', '/me');
      assert.equal(res.statusCode, 200);
      const me = res.json();
      assert.equal(me.username, 'Admin');
      assert.deepEqual(me.roles.map((r: { name: string }) => r.name), ['Администратор']);
      assert.deepEqual([...me.permissions].sort(), [...ALL_PERMISSIONS].sort());
      assert.deepEqual(me, { ...(await t.call('GET', `/employees/${me.employeeId}`)).json(), permissions: me.permissions, sendGrants: me.sendGrants });
    });

    it('GET /me of a role holder: that role’s permissions and send grants; no role: nothing, but still 200', async () => {
      const operator = await addEmployee('Оператор');
      const me = (await t.call('GET', '/me', { auth: operator.auth })).json();
      assert.equal(me.employeeId, operator.id);
      assert.equal(me.firstName, 'Мария');
      assert.deepEqual([...me.permissions].sort(), [...role['Оператор'].permissions].sort());
      assert.deepEqual(me.sendGrants, role['Оператор'].sendGrants);
      assert.ok(me.sendGrants.length > 0);

      const both = await addEmployee('Оператор', 'Аналитик');
      const union = (await t.call('GET', '/me', { auth: both.auth })).json();
      assert.deepEqual([...union.permissions].sort(), [...new Set([...role['Оператор'].permissions, ...role['Аналитик'].permissions])].sort());

      const nobody = await addEmployee();
      const bare = await t.call('GET', '/me', { auth: nobody.auth });
      assert.equal(bare.statusCode, 200);
      assert.deepEqual(bare.json().permissions, []);
      assert.deepEqual(bare.json().sendGrants, []);
    });

    it('an employee changes their own password only by proving the current one', async () => {
      const e = await addEmployee();
      const url = `/employees/${e.id}/password`;
      const missing = await t.call('PUT', url, { auth: e.auth, body: { newPassword: 'new-password-1' } });
      assert.equal(missing.statusCode, 422);
      assert.deepEqual(missing.json().details, [{ field: 'currentPassword', message: 'is required' }]);
      const wrong = await t.call('PUT', url, { auth: e.auth, body: { currentPassword: 'not-it-at-all', newPassword: 'new-password-1' } });
      assert.equal(wrong.statusCode, 422);
      assert.deepEqual(wrong.json().details, [{ field: 'currentPassword', message: 'is wrong' }]);
      const short = await t.call('PUT', url, { auth: e.auth, body: { currentPassword: PASSWORD, newPassword: 'short' } });
      assert.equal(short.statusCode, 422);
      assert.equal(short.json().details[0].field, 'newPassword');
      assert.equal((await t.call('PUT', url, { auth: e.auth, body: { currentPassword: PASSWORD, newPassword: 'new-password-1', extra: 1 } })).statusCode, 422);
      assert.equal((await passwordEvents(e.id)).length, 0, 'refused changes publish nothing');
      assert.equal((await t.call('GET', '/me', { auth: e.auth })).statusCode, 200, 'the old password still works');

      const ok = await t.call('PUT', url, { auth: e.auth, body: { currentPassword: PASSWORD, newPassword: 'new-password-1' } });
      assert.equal(ok.statusCode, 204);
      assert.equal(ok.body, '');
      assert.equal((await t.call('GET', '/me', { auth: e.auth })).statusCode, 401);
      assert.equal((await t.call('GET', '/me', { auth: [e.auth[0], 'new-password-1'] })).statusCode, 200);
      const events = await passwordEvents(e.id);
      assert.equal(events.length, 1);
      assert.deepEqual(JSON.parse(String(events[0].payload)), { employeeId: e.id, changedBy: e.id });
    });

    it('only an admin changes someone else’s password, without knowing it', async () => {
      const e = await addEmployee();
      const head = await addEmployee('Руководитель подразделения');
      const other = await t.call('PUT', `/employees/${e.id}/password`, { auth: head.auth, body: { currentPassword: PASSWORD, newPassword: 'head-chosen-1' } });
      assert.equal(other.statusCode, 403);
      assert.equal(other.json().error, 'FORBIDDEN');
      assert.equal((await t.call('PUT', '/employees/999999/password', { auth: head.auth, body: { newPassword: 'head-chosen-1' } })).statusCode, 403);

      const admin = (await t.call('GET', '/me')).json().employeeId as number;
      assert.equal((await t.call('PUT', `/employees/${e.id}/password`, { body: { newPassword: 'admin-chosen-1' } })).statusCode, 204);
      assert.equal((await t.call('GET', '/me', { auth: e.auth })).statusCode, 401);
      assert.equal((await t.call('GET', '/me', { auth: [e.auth[0], 'admin-chosen-1'] })).statusCode, 200);
      assert.deepEqual(JSON.parse(String((await passwordEvents(e.id))[0].payload)), { employeeId: e.id, changedBy: admin });
      assert.equal((await t.call('PUT', '/employees/999999/password', { body: { newPassword: 'admin-chosen-1' } })).statusCode, 404);
      // An admin changing their own password proves the current one like everybody else.
      assert.equal((await t.call('PUT', `/employees/${admin}/password`, { body: { newPassword: 'admin-chosen-1' } })).statusCode, 422);
    });
  });
}
