import { sql } from 'kysely';
import type { Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors/index.js';

/** What a pending change takes away from the set of active admins. */
export type AdminLoss =
  /** The employee is deleted or deactivated. */
  | { kind: 'employee'; employeeId: number }
  /** One role is taken from one employee. */
  | { kind: 'assignment'; employeeId: number; roleId: number }
  /** The role stops granting `admin`. */
  | { kind: 'role'; roleId: number };

/**
 * Refuses (409) a change that would leave no active employee with a role granting `admin`: nobody
 * could then manage roles or employees of other departments, and only the CLI could repair it.
 * Runs inside the change's transaction.
 */
export async function refuseLosingLastAdmin(ctx: HubContext, trx: Db, loss: AdminLoss, message: string): Promise<void> {
  if (!(await countActiveAdmins(ctx, trx, loss)).touched) return; // the change takes no admin grant away
  // Serialise changes that take admins away: on PostgreSQL the no-op update row-locks every role until
  // commit, so of two concurrent changes (each removing one of the last two admins) the second waits
  // and recounts after the first committed. SQLite serialises writers already.
  await trx.updateTable('roles').set({ updated_at: sql`updated_at` }).execute();
  const { before, after } = await countActiveAdmins(ctx, trx, loss);
  if (before > 0 && after === 0) throw new AppError('CONFLICT', message);
}

/**
 * Refuses (403) a non-admin's change to an admin: a department head may manage employees of the
 * department, but resetting an admin's password there would hand them the admin role.
 */
export async function refuseNonAdminTouchingAdmin(trx: Db, principal: Principal | null, employeeId: number): Promise<void> {
  if (principal === null || principal.permissions.has('admin')) return;
  const adminRoles = await adminRoleIds(trx);
  if (adminRoles.length === 0) return;
  const held = await trx.selectFrom('employee_roles').select('role_id').where('employee_id', '=', employeeId).where('role_id', 'in', adminRoles).executeTakeFirst();
  if (held) throw new AppError('FORBIDDEN', 'Only an admin can change or delete an employee who holds an admin role');
}

async function adminRoleIds(trx: Db): Promise<number[]> {
  const roles = await trx.selectFrom('roles').select(['id', 'permissions']).execute();
  return roles.filter((r) => (JSON.parse(String(r.permissions)) as string[]).includes('admin')).map((r) => Number(r.id));
}

/** Active employees holding a role that grants admin, now and once the loss applies; touched: the loss removes any such grant. */
async function countActiveAdmins(ctx: HubContext, trx: Db, loss: AdminLoss): Promise<{ before: number; after: number; touched: boolean }> {
  const adminRoles = await adminRoleIds(trx);
  if (adminRoles.length === 0) return { before: 0, after: 0, touched: false };
  const holders = await trx
    .selectFrom('employee_roles')
    .innerJoin('employees', 'employees.id', 'employee_roles.employee_id')
    .select(['employee_roles.employee_id as employeeId', 'employee_roles.role_id as roleId'])
    .where('employee_roles.role_id', 'in', adminRoles)
    .where('employees.active', '=', ctx.dialect.bool(true))
    .execute();
  const before = new Set<number>();
  const after = new Set<number>();
  let touched = false;
  for (const row of holders) {
    const employeeId = Number(row.employeeId);
    const roleId = Number(row.roleId);
    before.add(employeeId);
    const lost =
      (loss.kind === 'employee' && loss.employeeId === employeeId) ||
      (loss.kind === 'assignment' && loss.employeeId === employeeId && loss.roleId === roleId) ||
      (loss.kind === 'role' && loss.roleId === roleId);
    if (lost) touched = true;
    else after.add(employeeId);
  }
  return { before: before.size, after: after.size, touched };
}
