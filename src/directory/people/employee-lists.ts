import type { FastifyReply } from 'fastify';
import type { Principal } from '../../platform/auth/index.js';
import type { Item } from '../crud/entity.js';
import type { EntityService, ListQuery } from '../crud/service.js';
import { sendPage } from '../crud/paging.js';

/**
 * Employees narrowed by an extra condition (a role, a department), through the employee service so
 * that department scoping, filters, sorting and paging work exactly as on GET /employees — including
 * the X-Total-Count and Link headers.
 */
export async function replyWithEmployees(
  employees: EntityService,
  request: { query: unknown; principal: Principal | null; url: string },
  reply: FastifyReply,
  narrow: Narrow,
): Promise<Item[]> {
  return sendPage(request.url, reply, await employees.list(request.query as ListQuery, request.principal, narrow));
}

/** Narrows a select over `employees` (the directory's query builders are Kysely<any>). */
type Narrow = (qb: any) => any;

/** Employees holding the role. */
export const holdingRole =
  (roleId: number): Narrow =>
  (qb) =>
    qb.where('employees.id', 'in', (eb: any) => eb.selectFrom('employee_roles').select('employee_roles.employee_id').where('employee_roles.role_id', '=', roleId));

/** Employees of the department. */
export const inDepartment =
  (departmentId: number): Narrow =>
  (qb) =>
    qb.where('employees.department_id', '=', departmentId);
