import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal data always gives equal text whatever order
 * a provider built it in. Written out directly (no sorted copy of the object): it runs for every
 * change detected. `undefined` members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return canonicalArray(value);
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON());
      return canonicalObject(value as Record<string, unknown>);
    default:
      return JSON.stringify(value) ?? 'null';
  }
}

function canonicalArray(values: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += `${i > 0 ? ',' : ''}${v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v)}`;
  }
  return `${out}]`;
}

function canonicalObject(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  // Providers mostly build their objects in the same order every time; sort only when needed.
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  for (const key of keys) {
    const inner = record[key];
    if (inner === undefined || typeof inner === 'function') continue;
    out += `${out.length > 1 ? ',' : ''}${quoteKey(key)}:${canonicalJson(inner)}`;
  }
  return `${out}}`;
}

// Keys repeat across every record of a kind: quote each once.
const quotedKeys = new Map<string, string>();
function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** 128 bits of SHA-256: collisions are not a practical concern for change detection. */
export function payloadHash(canonical: string): string {
  return hash('sha256', canonical, 'hex').slice(0, 32);
}
