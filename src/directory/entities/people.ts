import { Type } from 'typebox';
import { ALL_PERMISSIONS, hashPassword, type Principal } from '../../platform/auth/index.js';
import { AppError } from '../../platform/errors/index.js';
import type { EntityDef, Row } from '../crud/entity.js';
import { refuseLosingLastAdmin, refuseNonAdminTouchingAdmin } from '../people/admin-guard.js';

const SendGrantSchema = Type.Object(
  { communicationTypeId: Type.Integer({ minimum: 1 }), sendChannelTypeId: Type.Integer({ minimum: 1 }) },
  { additionalProperties: false },
);

export const roles: EntityDef = {
  name: 'role',
  label: 'Role',
  path: '/roles',
  table: 'roles',
  idField: 'roleId',
  tag: 'roles',
  fields: {
    name: { column: 'name', kind: 'string', required: true, unique: true, minLength: 1, filter: true },
    description: { column: 'description', kind: 'text', maxLength: 2000 },
    permissions: {
      column: 'permissions',
      kind: 'json',
      default: [],
      schema: Type.Array(Type.Union(ALL_PERMISSIONS.map((p) => Type.Literal(p))), { uniqueItems: true, description: `Any of: ${ALL_PERMISSIONS.join(', ')}` }),
    },
    sendGrants: {
      column: 'send_grants',
      kind: 'json',
      default: [],
      schema: Type.Array(SendGrantSchema, { maxItems: 1000, description: 'Which communication type may be sent over which channel' }),
    },
  },
  nameFields: ['name'],
  permissions: { read: ['admin', 'employees.read'], write: 'admin' },
  async prepare(ctx, input, { trx, existing }) {
    if (existing && Array.isArray(input.permissions) && !input.permissions.includes('admin') && (JSON.parse(String(existing.permissions)) as string[]).includes('admin')) {
      const message = `Role "${String(existing.name)}" is the last one granting admin to an active employee; give another active employee an admin role first`;
      await refuseLosingLastAdmin(ctx, trx, { kind: 'role', roleId: Number(existing.id) }, message);
    }
    const grants = (input.sendGrants ?? []) as { communicationTypeId: number; sendChannelTypeId: number }[];
    const problems: { field: string; message: string }[] = [];
    for (const [i, g] of grants.entries()) {
      const type = await trx.selectFrom('communication_types').select('id').where('id', '=', g.communicationTypeId).executeTakeFirst();
      const channel = await trx.selectFrom('send_channel_types').select('id').where('id', '=', g.sendChannelTypeId).executeTakeFirst();
      if (!type) problems.push({ field: `sendGrants.${i}.communicationTypeId`, message: `communication type ${g.communicationTypeId} does not exist` });
      if (!channel) problems.push({ field: `sendGrants.${i}.sendChannelTypeId`, message: `send channel type ${g.sendChannelTypeId} does not exist` });
    }
    if (problems.length) throw new AppError('REFERENCE_NOT_FOUND', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
  },
  afterCommit: (ctx) => ctx.auth.invalidate(),
};

const isAdmin = (p: Principal | null) => p === null || p.permissions.has('admin');

export const employees: EntityDef = {
  name: 'employee',
  label: 'Employee',
  path: '/employees',
  table: 'employees',
  idField: 'employeeId',
  tag: 'employees',
  fields: {
    username: { column: 'username', kind: 'string', required: true, unique: true, minLength: 1, maxLength: 100, filter: true },
    password: { column: 'password_hash', kind: 'string', required: true, writeOnly: true, minLength: 8, maxLength: 200, description: 'At least 8 characters; stored as a scrypt hash' },
    firstName: { column: 'first_name', kind: 'string', filter: true },
    lastName: { column: 'last_name', kind: 'string', filter: true },
    email: { column: 'email', kind: 'email', filter: true },
    phone: { column: 'phone', kind: 'phone', filter: true },
    position: { column: 'position', kind: 'string' },
    departmentId: { column: 'department_id', kind: 'integer', ref: 'department', filter: true },
    active: { column: 'active', kind: 'boolean', default: true, filter: true, description: 'Inactive employees cannot sign in' },
  },
  nameFields: ['username', 'firstName', 'lastName'],
  extraOutput: { roles: Type.Array(Type.Object({ roleId: Type.Integer(), name: Type.String() })) },
  permissions: { read: 'employees.read', write: 'employees.write' },
  async decorate(_ctx, items, db) {
    const ids = items.map((i) => i.employeeId as number);
    const rows = await db
      .selectFrom('employee_roles')
      .innerJoin('roles', 'roles.id', 'employee_roles.role_id')
      .select(['employee_roles.employee_id as employeeId', 'roles.id as roleId', 'roles.name as name'])
      .where('employee_roles.employee_id', 'in', ids)
      .orderBy('roles.id')
      .execute();
    for (const item of items) {
      item.roles = rows.filter((r: Row) => Number(r.employeeId) === item.employeeId).map((r: Row) => ({ roleId: Number(r.roleId), name: r.name }));
    }
  },
  async prepare(ctx, input, { trx, principal, existing }) {
    if (existing) await refuseNonAdminTouchingAdmin(trx, principal, Number(existing.id));
    if (existing && input.active === false && (existing.active === true || existing.active === 1)) {
      const message = `${String(existing.username)} is the last active admin and cannot be deactivated; make another employee an admin first`;
      await refuseLosingLastAdmin(ctx, trx, { kind: 'employee', employeeId: Number(existing.id) }, message);
    }
  },
  // Hashing is slow on purpose: done before the transaction so it holds no connection.
  async precompute(ctx, input) {
    if (typeof input.password === 'string') return { password_hash: await hashPassword(input.password, ctx.config.auth.passwordHashCost) };
  },
  readScope(principal) {
    if (isAdmin(principal)) return null;
    return principal!.departmentId === null ? 'none' : { column: 'department_id', value: principal!.departmentId };
  },
  checkWrite(principal, row) {
    if (isAdmin(principal)) return;
    if (row.department_id === undefined || Number(row.department_id) !== principal!.departmentId) {
      throw new AppError('FORBIDDEN', 'You can only manage employees of your own department (departmentId ' + String(principal!.departmentId) + ')');
    }
  },
  async beforeDelete(ctx, { trx, principal, existing }) {
    if (principal && Number(existing!.id) === principal.employeeId) throw new AppError('CONFLICT', 'You cannot delete your own account');
    await refuseNonAdminTouchingAdmin(trx, principal, Number(existing!.id));
    const message = `${String(existing!.username)} is the last active admin and cannot be deleted; make another employee an admin first`;
    await refuseLosingLastAdmin(ctx, trx, { kind: 'employee', employeeId: Number(existing!.id) }, message);
  },
  afterCommit: (ctx) => ctx.auth.invalidate(),
};
