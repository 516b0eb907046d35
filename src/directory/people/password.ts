import { can, hashPassword, verifyPassword, type Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import { AppError, notFound } from '../../platform/errors/index.js';
import type { EntityService } from '../crud/service.js';

export interface PasswordChange {
  currentPassword?: string;
  newPassword: string;
}

/**
 * Changes an employee's password. Anyone may change their own, proving the current one (so a
 * browser left signed in is not enough to take the account over); an admin may set anyone's.
 * Publishes `employee.password_changed` (without any secret) and forgets cached sign-ins on commit,
 * so the old password stops working on the next request.
 */
export async function changePassword(ctx: HubContext, employees: EntityService, caller: Principal, employeeId: number, change: PasswordChange): Promise<void> {
  const own = caller.employeeId === employeeId;
  if (!own && !can(caller, 'admin')) throw new AppError('FORBIDDEN', 'You can only change your own password; an admin can change anyone’s');
  const row = await ctx.db.selectFrom('employees').select(['id', 'password_hash']).where('id', '=', employeeId).executeTakeFirst();
  if (!row) throw notFound('Employee', employeeId);
  if (own) {
    if (change.currentPassword === undefined) {
      throw new AppError('VALIDATION_FAILED', 'Send currentPassword to change your own password', [{ field: 'currentPassword', message: 'is required' }]);
    }
    if (!(await verifyPassword(change.currentPassword, String(row.password_hash)))) {
      throw new AppError('VALIDATION_FAILED', 'currentPassword is not your current password', [{ field: 'currentPassword', message: 'is wrong' }]);
    }
  }
  // scrypt runs outside the transaction (it is slow and must not hold a database lock); the update
  // then applies only if the hash checked above is still the stored one.
  const newHash = await hashPassword(change.newPassword, ctx.config.auth.passwordHashCost);
  await employees.write(async (trx) => {
    const updated = await trx
      .updateTable('employees')
      .set({ password_hash: newHash, updated_at: ctx.clock.now() })
      .where('id', '=', employeeId)
      .where('password_hash', '=', row.password_hash)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw new AppError('CONFLICT', 'The password was changed or the employee removed meanwhile; try again');
    await ctx.events.publish(trx, {
      topic: 'employee.password_changed',
      entityType: 'employee',
      entityId: employeeId,
      payload: { employeeId, changedBy: caller.employeeId },
    });
  });
}
