import type { HubContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors/index.js';
import type { Item } from '../crud/entity.js';
import type { DirectoryServices } from '../registry.js';
import { refuseLosingLastAdmin } from './admin-guard.js';

/**
 * Gives a role to an employee or takes it away, with an `employee.roles_changed` event in the same
 * transaction. Idempotent: assigning a held role or removing one not held changes nothing and
 * publishes nothing. The write commits through the employee service, whose afterCommit forgets
 * cached sign-ins, so the new permissions apply from the next request.
 */
export async function changeEmployeeRole(ctx: HubContext, services: DirectoryServices, employeeId: number, roleId: number, action: 'add' | 'remove'): Promise<Item> {
  const employees = services.employee;
  return employees.write(async (trx) => {
    const employee = await trx.selectFrom('employees').select(['id', 'username']).where('id', '=', employeeId).executeTakeFirst();
    if (!employee) throw notFound('Employee', employeeId);
    const role = await trx.selectFrom('roles').select(['id', 'name']).where('id', '=', roleId).executeTakeFirst();
    if (!role) throw notFound('Role', roleId);
    const held = await trx.selectFrom('employee_roles').select('role_id').where('employee_id', '=', employeeId).where('role_id', '=', roleId).executeTakeFirst();

    let changed = false;
    if (action === 'add' && !held) {
      await trx.insertInto('employee_roles').values({ employee_id: employeeId, role_id: roleId }).execute();
      changed = true;
    } else if (action === 'remove' && held) {
      const message = `Taking role "${String(role.name)}" from ${String(employee.username)} would leave no active admin; make another employee an admin first`;
      await refuseLosingLastAdmin(ctx, trx, { kind: 'assignment', employeeId, roleId }, message);
      await trx.deleteFrom('employee_roles').where('employee_id', '=', employeeId).where('role_id', '=', roleId).execute();
      changed = true;
    }

    const data = await employees.get(employeeId, null, trx);
    if (changed) {
      const ref = { roleId, name: String(role.name) };
      await ctx.events.publish(trx, {
        topic: 'employee.roles_changed',
        entityType: 'employee',
        entityId: employeeId,
        payload: { added: action === 'add' ? [ref] : [], removed: action === 'remove' ? [ref] : [], data },
      });
    }
    return data;
  });
}
