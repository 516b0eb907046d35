/**
 * Permissions a role can grant. `admin` implies all of them. Employee management is scoped to the
 * employee's own department unless the caller is an admin.
 */
export const PERMISSIONS = {
  admin: 'Everything, including employees of every department, roles and settings',
  'directory.read': 'Read clients, companies, contacts, groups, deals, bookings, documents and reference data',
  'directory.write': 'Create, change and delete clients, companies, contacts, groups, deals, bookings, blocks and documents',
  'settings.write': 'Change reference data: communication types, channels, booking statuses, deal types and statuses, custom parameters, rules, departments',
  'employees.read': 'Read employees of the own department',
  'employees.write': 'Create, change and delete employees of the own department',
  'comms.send': 'Send communications (limited to the role’s type × channel grants)',
  'stats.view': 'View statistics and metrics',
  'flows.read': 'See flows, their runs and per-step history',
  'flows.run': 'Send requests to flows, replay and cancel runs',
} as const;

export type Permission = keyof typeof PERMISSIONS;

export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}

export interface SendGrant {
  communicationTypeId: number;
  sendChannelTypeId: number;
}

/** Who is calling, as resolved from credentials. */
export interface Principal {
  employeeId: number;
  username: string;
  departmentId: number | null;
  permissions: ReadonlySet<Permission>;
  sendGrants: readonly SendGrant[];
}

export function can(principal: Principal, permission: Permission): boolean {
  return principal.permissions.has('admin') || principal.permissions.has(permission);
}

export function canSend(principal: Principal, communicationTypeId: number, sendChannelTypeId: number): boolean {
  if (principal.permissions.has('admin')) return true;
  if (!principal.permissions.has('comms.send')) return false;
  return principal.sendGrants.some((g) => g.communicationTypeId === communicationTypeId && g.sendChannelTypeId === sendChannelTypeId);
}

/** Employees outside the caller's department are invisible to non-admins. */
export function canManageEmployeeIn(principal: Principal, departmentId: number | null, write: boolean): boolean {
  if (principal.permissions.has('admin')) return true;
  if (!principal.permissions.has(write ? 'employees.write' : 'employees.read')) return false;
  return principal.departmentId !== null && principal.departmentId === departmentId;
}
