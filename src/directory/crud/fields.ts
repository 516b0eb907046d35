import { Type, type TSchema } from 'typebox';
import type { SqlDialect } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors/index.js';
import { checkEmail, checkPhone, innProblem, kppProblem, ogrnProblem, type CheckedValue } from '../values/index.js';
import { formatTimestamp, parseTimestamp } from './time-format.js';

/** Checked strings: phones are stored in E.164, emails with a lower-case domain, identifiers as sent. */
type RuledKind = 'phone' | 'email' | 'inn' | 'ogrn' | 'kpp';
export type FieldKind = 'string' | 'text' | 'integer' | 'number' | 'boolean' | 'timestamp' | 'json' | RuledKind;

const RULES: Record<RuledKind, { maxLength: number; about: string; check(value: string): CheckedValue }> = {
  phone: {
    maxLength: 64,
    about: 'Stored in E.164 (+79991234567); numbers without + are read as Russian',
    check: checkPhone,
  },
  email: {
    maxLength: 254,
    about: 'An email address; its domain is stored in lower case',
    check: checkEmail,
  },
  inn: { maxLength: 12, about: 'INN: 10 digits (organisation) or 12 (entrepreneur, person), check digits verified', check: identifier(innProblem) },
  ogrn: { maxLength: 15, about: 'OGRN (13 digits) or OGRNIP (15 digits), check digit verified', check: identifier(ogrnProblem) },
  kpp: { maxLength: 9, about: 'KPP: 9 characters such as 773601001', check: identifier(kppProblem) },
};

function identifier(problemOf: (value: string) => string | null) {
  return (value: string): CheckedValue => {
    const problem = problemOf(value);
    return problem ? { problem: `"${value}" ${problem}` } : { stored: value };
  };
}

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
    default: {
      const rule = RULES[field.kind];
      return Type.String({ description: field.description ?? rule.about, maxLength: rule.maxLength });
    }
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
    case 'integer':
    case 'number':
      return value;
    default: {
      const checked = RULES[field.kind].check(String(value).trim());
      if ('problem' in checked) throw new AppError('VALIDATION_FAILED', `${name}: ${checked.problem}`, [{ field: name, message: checked.problem }]);
      return checked.stored;
    }
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
