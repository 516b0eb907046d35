import { Type } from 'typebox';
import { AppError } from '../../platform/errors/index.js';
import type { EntityDef } from '../crud/entity.js';

export const PARAMETER_TYPES = ['phone', 'email', 'text', 'date', 'number', 'list'] as const;
export const PARAMETER_ENTITIES = ['client', 'company', 'deal'] as const;

/** Typed custom fields with stable numeric ids (the ids Sync's configuration refers to). */
export const parameters: EntityDef = {
  name: 'parameter',
  label: 'Parameter',
  path: '/parameters',
  table: 'parameters',
  idField: 'parameterId',
  tag: 'parameters',
  fields: {
    name: { column: 'name', kind: 'string', required: true, minLength: 1, filter: true },
    type: { column: 'type', kind: 'string', required: true, enum: PARAMETER_TYPES, filter: true },
    entityType: { column: 'entity_type', kind: 'string', required: true, enum: PARAMETER_ENTITIES, filter: true },
    options: { column: 'options', kind: 'json', schema: Type.Array(Type.String({ minLength: 1 }), { maxItems: 1000, description: 'Allowed values of a list parameter' }) },
    description: { column: 'description', kind: 'text', maxLength: 2000 },
  },
  nameFields: ['name'],
  permissions: { read: 'directory.read', write: 'settings.write' },
  async prepare(_ctx, input, { existing }) {
    const type = (input.type ?? existing?.type) as string;
    const options = input.options !== undefined ? input.options : existing?.options ? JSON.parse(String(existing.options)) : null;
    if (type === 'list' && (!Array.isArray(options) || options.length === 0)) {
      throw new AppError('VALIDATION_FAILED', 'A list parameter needs a non-empty options array', [{ field: 'options', message: 'is required for type list' }]);
    }
    if (existing && input.entityType !== undefined && input.entityType !== existing.entity_type) {
      throw new AppError('CONFLICT', 'entityType of a parameter cannot change; create a new parameter instead');
    }
  },
};
