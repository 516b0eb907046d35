import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDirectoryServices } from '../../src/directory/index.js';
import { refuseLosingLastAdmin } from '../../src/directory/people/admin-guard.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const PASSWORD = 'people-password';

for (const kind of TEST_DATABASES) {
  describe(`employee roles on ${kind}`, () => {
    let t: TestHub;
    const roleIds: Record<string, number> = {};
    let seq = 0;

    async function addEmployee(fields: Record<string, unknown> = {}, ...roles: string[]): Promise<number> {
      const res = await t.call('POST', '/employees', { body: { username: `person${++seq}`, password: PASSWORD, ...fields } });
      assert.equal(res.statusCode, 201, res.body);
      const id = res.json().employeeId as number;
      for (const role of roles) assert.equal((await t.call('PUT', `/employees/${id}/roles/${roleIds[role]}`)).statusCode, 200);
      return id;
    }
    const username = async (id: number) => (await t.call('GET', `/employees/${id}`)).json().username as string;
    const roleEvents = async (id: number) =>
      (await t.hub.ctx.db.selectFrom('events').selectAll().where('topic', '=', 'employee.roles_changed').where('entity_id', '=', String(id)).orderBy('id').execute()).map(
        (e) => JSON.parse(String(e.payload)),
      );

    before(async () => {
      t = await startTestHub(kind);
      for (const role of (await t.call('GET', '/roles')).json()) roleIds[role.name] = role.roleId;
    });
    after(async () => t.close());

    it('assigns and removes a role, answering with the employee and one event per real change', async () => {
      const id = await addEmployee();
      const assigned = await t.call('PUT', `/employees/${id}/roles/${roleIds['Оператор']}`);
      assert.equal(assigned.statusCode, 200);
      assert.equal(assigned.json().employeeId, id);
      assert.deepEqual(assigned.json().roles, [{ roleId: roleIds['Оператор'], name: 'Оператор' }]);

      const again = await t.call('POST', `/employees/${id}/roles/${roleIds['Оператор']}`);
      assert.equal(again.statusCode, 200, 'assigning a held role is idempotent');
      assert.equal(again.json().roles.length, 1);
      assert.deepEqual((await t.call('POST', `/employees/${id}/roles/${roleIds['Аналитик']}`)).json().roles.map((r: { name: string }) => r.name), ['Оператор', 'Аналитик']);

      const removed = await t.call('DELETE', `/employees/${id}/roles/${roleIds['Оператор']}`);
      assert.equal(removed.statusCode, 200);
      assert.deepEqual(removed.json().roles, [{ roleId: roleIds['Аналитик'], name: 'Аналитик' }]);
      assert.equal((await t.call('DELETE', `/employees/${id}/roles/${roleIds['Оператор']}`)).statusCode, 200, 'removing a role not held is idempotent');

      const events = await roleEvents(id);
      assert.deepEqual(
        events.map((e) => [e.added.map((r: { name: string }) => r.name), e.removed.map((r: { name: string }) => r.name)]),
        [[['Оператор'], []], [['Аналитик'], []], [[], ['Оператор']]],
      );
      assert.deepEqual(events[2].data.roles, [{ roleId: roleIds['Аналитик'], name: 'Аналитик' }]);
    });

    it('a changed role applies from the very next request of that employee', async () => {
      const id = await addEmployee();
      const me: [string, string] = [await username(id), PASSWORD];
      assert.equal((await t.call('GET', '/clients', { auth: me })).statusCode, 403);
      await t.call('PUT', `/employees/${id}/roles/${roleIds['Оператор']}`);
      assert.equal((await t.call('GET', '/clients', { auth: me })).statusCode, 200);
      await t.call('DELETE', `/employees/${id}/roles/${roleIds['Оператор']}`);
      assert.equal((await t.call('GET', '/clients', { auth: me })).statusCode, 403);
    });

    it('answers 404 for an unknown employee or role and 403 for a non-admin', async () => {
      const id = await addEmployee();
      const missingEmployee = await t.call('PUT', `/employees/999999/roles/${roleIds['Оператор']}`);
      assert.equal(missingEmployee.statusCode, 404);
      assert.match(missingEmployee.json().description, /Employee 999999/);
      assert.equal((await t.call('PUT', `/employees/${id}/roles/999999`)).statusCode, 404);
      assert.equal((await t.call('DELETE', `/employees/${id}/roles/999999`)).statusCode, 404);
      assert.equal((await t.call('PUT', `/employees/${id}/roles/abc`)).statusCode, 400);

      const department = (await t.call('POST', '/departments', { body: { name: 'Роли-403' } })).json().departmentId;
      const head = await addEmployee({ departmentId: department }, 'Руководитель подразделения');
      const colleague = await addEmployee({ departmentId: department });
      const refused = await t.call('PUT', `/employees/${colleague}/roles/${roleIds['Администратор']}`, { auth: [await username(head), PASSWORD] });
      assert.equal(refused.statusCode, 403, 'employees.write must not let a head hand out roles (admin among them)');
      assert.deepEqual((await t.call('GET', `/employees/${colleague}`)).json().roles, []);
    });

    it('never leaves the hub without an active admin', async () => {
      const adminId = (await t.call('GET', '/employees/name/Admin')).json().employeeId as number;
      const adminRole = roleIds['Администратор'];
      const eventsBefore = (await roleEvents(adminId)).length;

      // An inactive admin does not count.
      const dormant = await addEmployee({ active: false }, 'Администратор');
      const lastRole = await t.call('DELETE', `/employees/${adminId}/roles/${adminRole}`);
      assert.equal(lastRole.statusCode, 409);
      assert.equal(lastRole.json().error, 'CONFLICT');
      assert.match(lastRole.json().description, /no active admin/);
      assert.equal((await roleEvents(adminId)).length, eventsBefore, 'a refused change publishes nothing');
      assert.deepEqual((await t.call('GET', `/employees/${adminId}`)).json().roles.map((r: { roleId: number }) => r.roleId), [adminRole]);

      const deactivate = await t.call('PUT', `/employees/${adminId}`, { body: { active: false } });
      assert.equal(deactivate.statusCode, 409);
      assert.match(deactivate.json().description, /last active admin/);
      const demote = await t.call('PUT', `/roles/${adminRole}`, { body: { permissions: ['directory.read'] } });
      assert.equal(demote.statusCode, 409);
      assert.deepEqual((await t.call('GET', `/roles/${adminRole}`)).json().permissions, ['admin']);
      // The delete guard protects callers without a principal (CLI, other modules) too.
      await assert.rejects(createDirectoryServices(t.hub.ctx).employee.remove(adminId, null), (err: Error & { code?: string }) => err.code === 'CONFLICT');
      assert.equal((await t.call('GET', `/employees/${adminId}`)).statusCode, 200);

      // With a second active admin, the same changes go through.
      assert.equal((await t.call('PUT', `/employees/${dormant}`, { body: { active: true } })).statusCode, 200);
      const second: [string, string] = [await username(dormant), PASSWORD];
      assert.equal((await t.call('PUT', `/employees/${adminId}`, { body: { active: false }, auth: second })).statusCode, 200);
      assert.equal((await t.call('GET', '/me')).statusCode, 401, 'the deactivated admin is signed out at once');
      assert.equal((await t.call('PUT', `/employees/${adminId}`, { body: { active: true }, auth: second })).statusCode, 200);
      const otherAdminRole = (await t.call('POST', '/roles', { body: { name: 'Второй админ', permissions: ['admin'] } })).json().roleId;
      assert.equal((await t.call('PUT', `/employees/${adminId}/roles/${otherAdminRole}`)).statusCode, 200);
      assert.equal((await t.call('DELETE', `/employees/${adminId}/roles/${adminRole}`)).statusCode, 200, 'another role still grants admin');
      assert.equal((await t.call('GET', '/metrics')).statusCode, 200, 'and the Admin is still an admin');
      assert.equal((await t.call('PUT', `/employees/${adminId}/roles/${adminRole}`)).statusCode, 200);
      assert.equal((await t.call('DELETE', `/employees/${dormant}`)).statusCode, 204);
      assert.equal((await t.call('DELETE', `/employees/${adminId}/roles/${otherAdminRole}`)).statusCode, 200);
      assert.equal((await t.call('DELETE', `/roles/${otherAdminRole}`)).statusCode, 204);
    });

    it('two changes each taking one of the last two admins, in overlapping transactions: exactly one commits', async () => {
      const ctx = t.hub.ctx;
      const adminRole = roleIds['Администратор'];
      const adminId = (await t.call('GET', '/employees/name/Admin')).json().employeeId as number;
      const a = await addEmployee({}, 'Администратор');
      const b = await addEmployee({}, 'Администратор');
      const asB: [string, string] = [await username(b), PASSWORD];
      assert.equal((await t.call('DELETE', `/employees/${adminId}/roles/${adminRole}`)).statusCode, 200); // a and b are the last two

      // The first transaction passes the guard and takes a's role, then waits before committing;
      // meanwhile the second tries the same for b. (On PostgreSQL it needs the guard's lock to see a's loss.)
      let checked!: () => void;
      let commit!: () => void;
      const firstChecked = new Promise<void>((resolve) => (checked = resolve));
      const mayCommit = new Promise<void>((resolve) => (commit = resolve));
      const takeAdmin = (employeeId: number, hold: boolean) =>
        ctx.db.transaction().execute(async (trx) => {
          await refuseLosingLastAdmin(ctx, trx, { kind: 'assignment', employeeId, roleId: adminRole }, 'would leave no admin');
          await trx.deleteFrom('employee_roles').where('employee_id', '=', employeeId).where('role_id', '=', adminRole).execute();
          if (hold) {
            checked();
            await mayCommit;
          }
        });
      const first = takeAdmin(a, true);
      await firstChecked;
      const second = takeAdmin(b, false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      commit();
      const [r1, r2] = await Promise.allSettled([first, second]);
      assert.equal(r1.status, 'fulfilled');
      assert.equal(r2.status, 'rejected', 'the second change must see the first one');
      assert.equal(((r2 as PromiseRejectedResult).reason as { code: string }).code, 'CONFLICT');
      ctx.auth.invalidate(); // the roles changed behind the API's back
      assert.deepEqual((await t.call('GET', `/roles/${adminRole}/employees`, { auth: asB })).json().map((e: { employeeId: number }) => e.employeeId), [b]);

      assert.equal((await t.call('PUT', `/employees/${adminId}/roles/${adminRole}`, { auth: asB })).statusCode, 200);
    });

    it('a department head cannot change, reset or delete an admin of their department', async () => {
      const department = (await t.call('POST', '/departments', { body: { name: 'Админ в отделе' } })).json().departmentId;
      const head: [string, string] = [await username(await addEmployee({ departmentId: department }, 'Руководитель подразделения')), PASSWORD];
      const admin = await addEmployee({ departmentId: department }, 'Администратор');
      const plain = await addEmployee({ departmentId: department });
      assert.equal((await t.call('PUT', `/employees/${plain}`, { body: { position: 'Оператор КЦ' }, auth: head })).statusCode, 200);
      const reset = await t.call('PUT', `/employees/${admin}`, { body: { password: 'taken-over-now' }, auth: head });
      assert.equal(reset.statusCode, 403);
      assert.match(reset.json().description, /admin/);
      assert.equal((await t.call('GET', '/me', { auth: [await username(admin), 'taken-over-now'] })).statusCode, 401);
      assert.equal((await t.call('DELETE', `/employees/${admin}`, { auth: head })).statusCode, 403);
      assert.equal((await t.call('GET', '/me', { auth: [await username(admin), PASSWORD] })).statusCode, 200);
    });
  });
}
