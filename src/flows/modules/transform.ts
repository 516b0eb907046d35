import { getPath } from '../conditions/path.js';
import type { LocalModule } from '../runtime/module.js';
import { failOnBadOptions } from '../runtime/local.js';
import { isRecord } from './template.js';

type Op = (value: unknown) => unknown;

const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** The whole mapping language: named, pure operations applied in order. No expressions, no eval. */
const OPS: Record<string, Op> = {
  trim: (v) => (typeof v === 'string' ? v.trim() : v),
  lower: (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  upper: (v) => (typeof v === 'string' ? v.toUpperCase() : v),
  string: (v) => (v === undefined || v === null ? v : text(v)),
  number: (v) => {
    if (typeof v === 'number') return v;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v.trim().replace(',', '.')) : NaN;
    return Number.isFinite(n) ? n : null;
  },
  boolean: (v) => (typeof v === 'string' ? !['', '0', 'false', 'no', 'off'].includes(v.trim().toLowerCase()) : Boolean(v)),
  digits: (v) => (v === undefined || v === null ? v : text(v).replace(/\D+/g, '')),
  /** Russian phone numbers as +7XXXXXXXXXX (8… and bare 10-digit forms too); others keep their digits with a +. */
  phone: (v) => {
    if (v === undefined || v === null || text(v).trim() === '') return null;
    let d = text(v).replace(/\D+/g, '');
    if (d.length === 11 && d.startsWith('8')) d = `7${d.slice(1)}`;
    if (d.length === 10) d = `7${d}`;
    return d === '' ? null : `+${d}`;
  },
  email: (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : null),
  empty_to_null: (v) => (v === '' || (Array.isArray(v) && v.length === 0) ? null : v),
};

export const TRANSFORM_OPS = Object.keys(OPS);

interface FieldSpec {
  from?: string;
  value?: unknown;
  default?: unknown;
  ops?: string[];
}

/**
 * `transform`: builds the output field by field from the step input.
 * `fields: { phone: { from: request.phone, ops: [phone] }, name: request.name, source: { value: site } }`
 * — a plain string is a path. `merge: true` keeps the input's own fields beside the new ones.
 */
export const transformModule: LocalModule = {
  name: 'transform',
  safe: true,
  optionProblems(options) {
    const { fields, merge = false, ...unknown } = options;
    const problems: string[] = Object.keys(unknown).map((k) => `unknown option "${k}" (allowed: fields, merge)`);
    if (typeof merge !== 'boolean') problems.push('options.merge must be true or false');
    if (!isRecord(fields)) return [...problems, 'options.fields must be a mapping of output field → path or { from, value, default, ops }'];
    for (const [name, raw] of Object.entries(fields)) {
      const spec = fieldSpec(raw);
      if (!spec) {
        problems.push(`fields.${name}: must be a path or { from, value, default, ops }`);
        continue;
      }
      for (const key of Object.keys(spec)) if (!['from', 'value', 'default', 'ops'].includes(key)) problems.push(`fields.${name}.${key}: unknown key`);
      if (spec.from !== undefined && typeof spec.from !== 'string') problems.push(`fields.${name}.from: must be a path`);
      if (spec.ops !== undefined && !Array.isArray(spec.ops)) problems.push(`fields.${name}.ops: must be a list of operations`);
      else for (const op of spec.ops ?? []) if (!Object.hasOwn(OPS, op)) problems.push(`fields.${name}.ops: unknown operation "${op}" (known: ${TRANSFORM_OPS.join(', ')})`);
    }
    return problems;
  },
  run(input, call) {
    failOnBadOptions('transform', transformModule.optionProblems!(call.options));
    const { fields, merge = false } = call.options as { fields: Record<string, unknown>; merge?: boolean };
    const out: Record<string, unknown> = merge && isRecord(input) ? { ...input } : {};
    for (const [name, raw] of Object.entries(fields)) {
      const spec = fieldSpec(raw)!;
      let value = spec.from !== undefined ? getPath(input, spec.from) : spec.value;
      for (const op of spec.ops ?? []) value = OPS[op]!(value);
      out[name] = value === undefined || value === null ? (spec.default ?? null) : value;
    }
    return out;
  },
};

/** A field's spec: a plain string is a path. */
const fieldSpec = (raw: unknown): FieldSpec | undefined => (typeof raw === 'string' ? { from: raw } : isRecord(raw) ? (raw as FieldSpec) : undefined);
