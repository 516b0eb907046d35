import { isPermission, type Permission, type PrincipalStore, type SendGrant } from '../platform/auth/index.js';
import type { Db } from '../platform/db/index.js';

/** Resolves an active employee with the union of their roles' permissions and send grants. */
export function createPrincipalStore(db: Db): PrincipalStore {
  return {
    async findByUsername(username) {
      const employee = await db
        .selectFrom('employees')
        .select(['id', 'username', 'password_hash', 'department_id', 'active'])
        .where('username', '=', username)
        .executeTakeFirst();
      if (!employee || !(employee.active === true || employee.active === 1)) return null;
      const roleRows = await db
        .selectFrom('employee_roles')
        .innerJoin('roles', 'roles.id', 'employee_roles.role_id')
        .select(['roles.permissions', 'roles.send_grants'])
        .where('employee_roles.employee_id', '=', employee.id)
        .execute();
      const permissions = new Set<Permission>();
      const sendGrants: SendGrant[] = [];
      for (const row of roleRows) {
        for (const p of JSON.parse(String(row.permissions)) as string[]) if (isPermission(p)) permissions.add(p);
        sendGrants.push(...(JSON.parse(String(row.send_grants)) as SendGrant[]));
      }
      return {
        passwordHash: String(employee.password_hash),
        principal: {
          employeeId: Number(employee.id),
          username: String(employee.username),
          departmentId: employee.department_id === null ? null : Number(employee.department_id),
          permissions,
          sendGrants,
        },
      };
    },
  };
}
