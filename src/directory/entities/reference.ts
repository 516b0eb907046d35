import type { EntityDef } from '../crud/entity.js';
import type { FieldDef } from '../crud/fields.js';

const name: FieldDef = { column: 'name', kind: 'string', required: true, unique: true, minLength: 1, filter: true };
const description: FieldDef = { column: 'description', kind: 'text', maxLength: 2000 };
const readRef = { read: 'directory.read', write: 'settings.write' } as const;

export const communicationTypes: EntityDef = {
  name: 'communication_type',
  label: 'Communication type',
  path: '/communication_types',
  table: 'communication_types',
  idField: 'communicationTypeId',
  tag: 'reference data',
  fields: { name, description },
  nameFields: ['name'],
  permissions: readRef,
  timestamps: false,
};

export const CHANNEL_KINDS = ['sms', 'messenger', 'email', 'push', 'social', 'other'] as const;

export const sendChannelTypes: EntityDef = {
  name: 'send_channel_type',
  label: 'Send channel type',
  path: '/send_channel_types',
  table: 'send_channel_types',
  idField: 'sendChannelTypeId',
  tag: 'reference data',
  fields: {
    name,
    description,
    kind: { column: 'kind', kind: 'string', enum: CHANNEL_KINDS, default: 'other', filter: true, description: 'Which delivery technology the channel uses' },
  },
  nameFields: ['name'],
  permissions: readRef,
  timestamps: false,
};

export const bookingStatusTypes: EntityDef = {
  name: 'booking_status_type',
  label: 'Booking status type',
  path: '/booking_status_types',
  table: 'booking_status_types',
  idField: 'bookingStatusTypeId',
  tag: 'reference data',
  fields: { name, description },
  nameFields: ['name'],
  permissions: readRef,
  timestamps: false,
};

export const dealTypes: EntityDef = {
  name: 'deal_type',
  label: 'Deal type',
  path: '/deal_types',
  table: 'deal_types',
  idField: 'dealTypeId',
  tag: 'deals',
  fields: { name, description },
  nameFields: ['name'],
  permissions: readRef,
};

export const DEAL_STATUS_KINDS = ['progress', 'paid', 'canceled'] as const;

export const dealStatuses: EntityDef = {
  name: 'deal_status',
  label: 'Deal status',
  path: '/deal_statuses',
  table: 'deal_statuses',
  idField: 'dealStatusId',
  tag: 'deals',
  fields: {
    name,
    description,
    type: { column: 'type', kind: 'string', enum: DEAL_STATUS_KINDS, default: 'progress', filter: true, description: 'progress, paid or canceled (as in Roistat)' },
  },
  nameFields: ['name'],
  permissions: readRef,
};

export const clientGroups: EntityDef = {
  name: 'client_group',
  label: 'Client group',
  path: '/client_groups',
  table: 'client_groups',
  idField: 'clientGroupId',
  tag: 'clients',
  fields: { name, description },
  nameFields: ['name'],
  permissions: { read: 'directory.read', write: 'directory.write' },
};

export const departments: EntityDef = {
  name: 'department',
  label: 'Department',
  path: '/departments',
  table: 'departments',
  idField: 'departmentId',
  tag: 'employees',
  fields: { name, description },
  nameFields: ['name'],
  permissions: { read: ['directory.read', 'employees.read'], write: 'settings.write' },
};
