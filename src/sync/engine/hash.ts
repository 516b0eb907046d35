import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so equal data always gives equal text whatever order
 * a provider built it in. Written out directly (no sorted copy of the object): it runs for every
 * change detected. `undefined` members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON());
  const record = value as Record<string, unknown>;
  let out = '';
  for (const key of Object.keys(record).sort()) {
    const inner = record[key];
    if (inner === undefined || typeof inner === 'function') continue;
    out += `${out ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(inner)}`;
  }
  return `{${out}}`;
}

/** 128 bits of SHA-256: collisions are not a practical concern for change detection. */
export function payloadHash(canonical: string): string {
  return hash('sha256', canonical, 'hex').slice(0, 32);
}
