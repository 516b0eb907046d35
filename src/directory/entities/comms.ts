import { Type } from 'typebox';
import type { EntityDef } from '../crud/entity.js';

export const rules: EntityDef = {
  name: 'rule',
  label: 'Rule',
  path: '/rules',
  table: 'rules',
  idField: 'ruleId',
  tag: 'rules',
  fields: {
    name: { column: 'name', kind: 'string', required: true, unique: true, minLength: 1, filter: true },
    description: { column: 'description', kind: 'text', maxLength: 2000 },
    departmentId: { column: 'department_id', kind: 'integer', ref: 'department', filter: true, description: 'The department the rule applies to (all when empty)' },
    communicationTypeId: { column: 'communication_type_id', kind: 'integer', ref: 'communication_type', filter: true },
    sendChannelTypeId: { column: 'send_channel_type_id', kind: 'integer', ref: 'send_channel_type', filter: true },
    startHour: { column: 'start_hour', kind: 'integer', minimum: 0, maximum: 23, description: 'Earliest local hour to send' },
    endHour: { column: 'end_hour', kind: 'integer', minimum: 0, maximum: 24, description: 'Send before this local hour' },
    maxPerDay: { column: 'max_per_day', kind: 'integer', minimum: 0, description: 'At most this many communications per client per day' },
    priority: { column: 'priority', kind: 'integer', default: 0 },
    active: { column: 'active', kind: 'boolean', default: true, filter: true },
  },
  nameFields: ['name'],
  permissions: { read: 'directory.read', write: 'settings.write' },
};

export const DOCUMENT_KINDS = ['text', 'template', 'audio', 'video', 'other'] as const;

export const documents: EntityDef = {
  name: 'document',
  label: 'Document',
  path: '/documents',
  table: 'documents',
  idField: 'documentId',
  tag: 'documents',
  fields: {
    name: { column: 'name', kind: 'string', required: true, minLength: 1, filter: true },
    kind: { column: 'kind', kind: 'string', enum: DOCUMENT_KINDS, default: 'text', filter: true },
    mimeType: { column: 'mime_type', kind: 'string', maxLength: 100 },
    content: { column: 'content', kind: 'text', maxLength: 500_000, description: 'Text or template body' },
    url: { column: 'url', kind: 'string', maxLength: 2000, description: 'Where audio/video content lives' },
  },
  nameFields: ['name'],
  permissions: { read: 'directory.read', write: 'directory.write' },
};

export const channelBlocks: EntityDef = {
  name: 'channel_block',
  label: 'Channel block',
  path: '/channel_blocks',
  table: 'channel_blocks',
  idField: 'channelBlockId',
  tag: 'channel blocks',
  fields: {
    clientId: { column: 'client_id', kind: 'integer', required: true, ref: 'client', filter: true },
    sendChannelTypeId: { column: 'send_channel_type_id', kind: 'integer', required: true, ref: 'send_channel_type', filter: true },
    until: { column: 'until', kind: 'timestamp', description: 'Blocked until this time; empty means permanently' },
    reason: { column: 'reason', kind: 'text', maxLength: 1000 },
  },
  nameFields: ['reason'],
  extraOutput: { permanent: Type.Boolean(), active: Type.Boolean() },
  permissions: { read: 'directory.read', write: 'directory.write' },
  async decorate(ctx, items) {
    const now = ctx.clock.now();
    for (const item of items) {
      item.permanent = item.until === null;
      item.active = item.until === null || Date.parse(String(item.until)) > now;
    }
  },
};
