import { Type, type TSchema } from 'typebox';
import type { SqlDialect } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors/index.js';
import { formatTimestamp, parseTimestamp } from './time-format.js';

export type FieldKind = 'string' | 'text' | 'integer' | 'number' | 'boolean' | 'timestamp' | 'json';

export interface FieldDef {
  column: string;
  kind: FieldKind;
  /** Must be given on create. */
  required?: boolean;
  unique?: boolean;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly string[];
  /** Name of the entity this id points to (checked: a missing target is a 422). */
  ref?: string;
  /** Accepted in input only (e.g. a password); never returned. */
  writeOnly?: boolean;
  /** Returned only; ignored when sent back. */
  readOnly?: boolean;
  default?: unknown;
  /** Exact-match filter in list queries (`?field=value`). */
  filter?: boolean;
  /** Schema for json fields. */
  schema?: TSchema;
  description?: string;
}

export function valueSchema(field: FieldDef): TSchema {
  const opts = { description: field.description };
  switch (field.kind) {
    case 'string':
    case 'text':
      if (field.enum) return Type.Unsafe<string>({ type: 'string', enum: [...field.enum], ...opts });
      return Type.String({ ...opts, maxLength: field.maxLength ?? (field.kind === 'string' ? 255 : 100_000), minLength: field.minLength });
    case 'integer':
      return Type.Integer({ ...opts, minimum: field.minimum, maximum: field.maximum });
    case 'number':
      return Type.Number({ ...opts, minimum: field.minimum, maximum: field.maximum });
    case 'boolean':
      return Type.Boolean(opts);
    case 'timestamp':
      return Type.String({ ...opts, description: `${field.description ?? ''} ISO-8601 date-time`.trim() });
    case 'json':
      return field.schema ?? Type.Unknown(opts);
  }
}

/** Input value (already schema-valid) → database value. */
export function toDb(field: FieldDef, name: string, value: unknown, dialect: SqlDialect): unknown {
  if (value === null || value === undefined) return null;
  switch (field.kind) {
    case 'boolean':
      return dialect.bool(value as boolean);
    case 'timestamp':
      return parseTimestamp(String(value), name);
    case 'json':
      return JSON.stringify(value);
    case 'string':
    case 'text':
      return typeof value === 'string' ? value.trim() : value;
    default:
      return value;
  }
}

/** Database value → API value. */
export function fromDb(field: FieldDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.kind) {
    case 'boolean':
      return value === true || value === 1;
    case 'timestamp':
      return formatTimestamp(Number(value));
    case 'json':
      try {
        return JSON.parse(String(value));
      } catch {
        throw new AppError('INTERNAL', `stored JSON in ${field.column} is corrupt`);
      }
    case 'integer':
    case 'number':
      return Number(value);
    default:
      return value;
  }
}
