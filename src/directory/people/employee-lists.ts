import type { FastifyReply } from 'fastify';
import type { Principal } from '../../platform/auth/index.js';
import type { Item } from '../crud/entity.js';
import type { EntityService, ListQuery } from '../crud/service.js';

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
  const page = await employees.list(request.query as ListQuery, request.principal, narrow);
  reply.header('x-total-count', String(page.total));
  if (page.offset + page.items.length < page.total) {
    const next = new URL(request.url, 'http://hub');
    next.searchParams.set('offset', String(page.offset + page.limit));
    next.searchParams.set('limit', String(page.limit));
    next.searchParams.delete('page');
    next.searchParams.delete('size');
    reply.header('link', `<${next.pathname}${next.search}>; rel="next"`);
  }
  return page.items;
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
