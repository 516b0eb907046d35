import { createHash } from 'node:crypto';

/** JSON text and its size in bytes (what the limits count). `undefined` becomes null. */
export function toJson(value: unknown): { text: string; bytes: number } {
  const text = JSON.stringify(value ?? null) ?? 'null';
  return { text, bytes: Buffer.byteLength(text) };
}

/**
 * History copies (step inputs, errors) are cut, never the data a run depends on. A cut value is
 * replaced by a marker that says so and keeps the start of the text to read.
 */
export function cappedJson(value: unknown, maxBytes: number): string {
  const { text, bytes } = toJson(value);
  if (bytes <= maxBytes) return text;
  const previewChars = Math.max(0, Math.floor(maxBytes / 4) - 100);
  return JSON.stringify({ $truncated: true, bytes, limit: maxBytes, preview: text.slice(0, previewChars) });
}

/** Stable JSON (sorted keys), so equal data hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export const parseJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
