import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { isPlainObject } from './dotted-keys.js';

// Properties files and environment variables give strings; the schema says what each key needs.
// Value.Convert is generous ("1.5" → 1 for an integer, "" → 0, "0x10" → 16): a conversion that changes
// what was written is undone, so the schema reports the original string with its key.

const DECIMAL = /^-?\d+(\.\d+)?$/;
const BOOLEAN = /^(true|false|1|0)$/i;

export function convertToSchema(schema: TSchema, tree: unknown): unknown {
  return keepExact(tree, Value.Convert(schema, Value.Clone(tree)));
}

function keepExact(original: unknown, converted: unknown): unknown {
  // A YAML or JSON number the schema wants whole (1.5 for an integer key) is reported, not cut to 1.
  if (typeof original === 'number' && typeof converted === 'number') return original;
  if (typeof original === 'string' && typeof converted === 'number') {
    return DECIMAL.test(original) && Number(original) === converted ? converted : original;
  }
  if (typeof original === 'string' && typeof converted === 'boolean') return BOOLEAN.test(original) ? converted : original;
  if (isPlainObject(original) && isPlainObject(converted)) {
    for (const key of Object.keys(converted)) converted[key] = keepExact(original[key], converted[key]);
  } else if (Array.isArray(original) && Array.isArray(converted) && original.length === converted.length) {
    return converted.map((item, i) => keepExact(original[i], item));
  }
  return converted;
}
