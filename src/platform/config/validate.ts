import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { isPlainObject } from './dotted-keys.js';

// Every problem, not just the first. TypeBox stops listing errors after 8 and a failed union hides the
// rest of its pass, so sections are walked here and TypeBox checks one key's value at a time.

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  anyOf?: SchemaNode[];
  const?: unknown;
  items?: SchemaNode;
  default?: unknown;
}

const isSection = (schema: SchemaNode) => schema.type === 'object' && (schema.properties !== undefined || schema.patternProperties !== undefined);

/** Problems as "dotted.key: message", one per bad key. */
export function validateTree(schema: TSchema, value: unknown, path: string[] = []): string[] {
  const node = schema as SchemaNode;
  if (!isSection(node) || !isPlainObject(value)) return valueProblems(schema, value, path);
  const problems: string[] = [];
  const patterns = Object.entries(node.patternProperties ?? {}).map(([p, s]) => [new RegExp(p), s] as const);
  for (const [key, inner] of Object.entries(value)) {
    const named = node.properties?.[key];
    const matched = patterns.find(([re]) => re.test(key))?.[1];
    const sub = named ?? matched;
    if (sub) {
      if (inner !== undefined) problems.push(...validateTree(sub as TSchema, inner, [...path, key]));
    } else if (node.additionalProperties === false) {
      problems.push(`${[...path, key].join('.')}: unknown key`);
    }
  }
  for (const key of node.required ?? []) {
    if (value[key] === undefined) problems.push(`${[...path, key].join('.')}: required`);
  }
  return problems;
}

/** Fills defaults, including inside maps (Value.Default leaves the entries of a Record alone). */
export function withDefaults(schema: TSchema, value: unknown): unknown {
  const filled = Value.Default(schema, value);
  const node = schema as SchemaNode;
  if (!isSection(node) || !isPlainObject(filled)) return filled;
  const patterns = Object.entries(node.patternProperties ?? {}).map(([p, s]) => [new RegExp(p), s] as const);
  for (const [key, inner] of Object.entries(filled)) {
    const sub = node.properties?.[key] ?? patterns.find(([re]) => re.test(key))?.[1];
    if (sub && inner !== undefined) filled[key] = withDefaults(sub as TSchema, inner);
  }
  return filled;
}

function valueProblems(schema: TSchema, value: unknown, path: string[]): string[] {
  const errors = [...Value.Errors(schema, value)].filter((e) => e.keyword !== 'boolean'); // additionalProperties names the key
  // A failed union also reports why each member failed; its own line says it all.
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const lines = new Set<string>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && unions.some((u) => error.instancePath === u || error.instancePath.startsWith(`${u}/`))) continue;
    const key = [...path, ...error.instancePath.split('/').filter(Boolean)].join('.') || '(root)';
    const extra = (error.params as { additionalProperties?: string[] }).additionalProperties;
    if (extra) extra.forEach((k) => lines.add(`${key}.${k}: unknown key`));
    else if (error.keyword === 'anyOf' || error.keyword === 'const') lines.add(`${key}: ${allowed(schema as SchemaNode, error.instancePath)}`);
    else lines.add(`${key}: ${error.message}`);
  }
  return [...lines];
}

const ARTICLE: Record<string, string> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false' };

function allowed(schema: SchemaNode, instancePath: string): string {
  let node = schema;
  for (const part of instancePath.split('/').filter(Boolean)) node = node.properties?.[part] ?? node.items ?? {};
  const members = node.anyOf ?? [node];
  if (members.every((m) => m.const !== undefined)) return `must be one of ${members.map((m) => String(m.const)).join(', ')}`;
  const kinds = members.map((m) => (m.type === 'array' ? `a list of ${m.items?.type ?? 'value'}s` : (ARTICLE[m.type ?? ''] ?? `a ${m.type}`)));
  return `must be ${kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} or ${kinds[kinds.length - 1]}` : kinds[0]}`;
}
