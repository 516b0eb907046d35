import { Type, type TObject } from 'typebox';
import { ALL_PERMISSIONS, can, canManageEmployeeIn } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors/index.js';
import type { HubApp } from '../../platform/http/index.js';
import { IdParams, itemSchema, listQuerySchema, NameParams } from '../crud/schemas.js';
import { holdingRole, inDepartment, replyWithEmployees } from '../people/employee-lists.js';
import { changePassword, type PasswordChange } from '../people/password.js';
import { changeEmployeeRole } from '../people/role-assignment.js';
import type { DirectoryServices } from '../registry.js';

const RoleAssignmentParams = Type.Object({
  id: Type.Integer({ minimum: 1, description: 'Employee id' }),
  roleId: Type.Integer({ minimum: 1, description: 'Role id' }),
});

const PasswordChangeBody = Type.Object(
  {
    currentPassword: Type.Optional(Type.String({ maxLength: 200, description: 'Required when changing your own password' })),
    newPassword: Type.String({ minLength: 8, maxLength: 200, description: 'At least 8 characters' }),
  },
  { additionalProperties: false },
);

/**
 * Employees, roles and departments beyond plain CRUD: role assignment, employees of a role or a
 * department, the caller's own profile and password changes.
 */
export function registerPeopleRoutes(app: HubApp, ctx: HubContext, services: DirectoryServices): void {
  const employees = services.employee;
  const employee = itemSchema(employees.def) as TObject;
  const employeeList = { querystring: listQuerySchema(employees.def), response: { 200: Type.Array(employee) } };

  // Role assignment is admin-only even for department heads: otherwise employees.write could grant admin.
  const assignment = {
    config: { permission: 'admin' as const },
    schema: { tags: ['employees'], params: RoleAssignmentParams, summary: 'Give a role to an employee (idempotent)', response: { 200: employee } },
  };
  const assign = async (request: { params: { id: number; roleId: number } }) => changeEmployeeRole(ctx, services, request.params.id, request.params.roleId, 'add');
  app.put('/employees/:id/roles/:roleId', assignment, assign);
  app.post('/employees/:id/roles/:roleId', assignment, assign);
  app.delete(
    '/employees/:id/roles/:roleId',
    { ...assignment, schema: { ...assignment.schema, summary: 'Take a role from an employee (refused for the last active admin)' } },
    async (request) => changeEmployeeRole(ctx, services, request.params.id, request.params.roleId, 'remove'),
  );

  // Lists go through the employee service: a non-admin sees only employees of their own department.
  app.get(
    '/roles/:id/employees',
    { config: { permission: 'employees.read' }, schema: { tags: ['roles'], params: IdParams, ...employeeList, summary: 'Employees holding a role' } },
    async (request, reply) => {
      const role = await services.role.get(request.params.id, request.principal);
      return replyWithEmployees(employees, request, reply, holdingRole(role.roleId as number));
    },
  );
  app.get(
    '/roles/name/:name/employees',
    { config: { permission: 'employees.read' }, schema: { tags: ['roles'], params: NameParams, ...employeeList, summary: 'Employees holding the role of this exact name' } },
    async (request, reply) => {
      const role = await services.role.getByName(request.params.name, request.principal);
      return replyWithEmployees(employees, request, reply, holdingRole(role.roleId as number));
    },
  );
  app.get(
    '/departments/:id/employees',
    {
      config: { permission: 'employees.read' },
      schema: { tags: ['employees'], params: IdParams, ...employeeList, summary: 'Employees of a department (a non-admin: only their own department)' },
    },
    async (request, reply) => {
      const department = await services.department.get(request.params.id, request.principal);
      if (!canManageEmployeeIn(request.principal!, department.departmentId as number, false)) {
        throw new AppError('FORBIDDEN', `You can only list employees of your own department (departmentId ${String(request.principal!.departmentId)})`);
      }
      return replyWithEmployees(employees, request, reply, inDepartment(department.departmentId as number));
    },
  );

  // No config.permission on purpose: every signed-in employee may see who they are and what they may do.
  app.get(
    '/me',
    {
      schema: {
        tags: ['employees'],
        summary: 'The calling employee, with effective permissions (admin implies all) and send grants',
        response: {
          200: Type.Object({
            ...employee.properties,
            permissions: Type.Array(Type.String()),
            sendGrants: Type.Array(Type.Object({ communicationTypeId: Type.Integer(), sendChannelTypeId: Type.Integer() })),
          }),
        },
      },
    },
    async (request) => {
      const principal = request.principal!;
      const item = await employees.get(principal.employeeId, null);
      const grants = new Map(principal.sendGrants.map((g) => [`${g.communicationTypeId}:${g.sendChannelTypeId}`, g]));
      return { ...item, permissions: ALL_PERMISSIONS.filter((p) => can(principal, p)), sendGrants: [...grants.values()] };
    },
  );

  // No config.permission on purpose: everyone may change their own password (checked in changePassword,
  // with the current password); changing someone else's needs admin.
  app.put(
    '/employees/:id/password',
    {
      schema: {
        tags: ['employees'],
        params: IdParams,
        body: PasswordChangeBody,
        summary: 'Change a password: your own (with currentPassword) or, as an admin, anyone’s',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await changePassword(ctx, employees, request.principal!, request.params.id, request.body as PasswordChange);
      return reply.code(204).send(null);
    },
  );
}
