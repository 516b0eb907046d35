import { BITRIX24_MODULE_NAMES } from '../modules/bitrix24/names.js';

/**
 * Module names a flow may use as `subsystem`. The runtime owns the real registry; validation takes the
 * set as a parameter. A trailing `.*` admits a family (`bitrix24.*` → `bitrix24.find-deal`).
 */
export const BUILTIN_MODULES: readonly string[] = ['http-request', 'set', 'transform', 'delay', ...BITRIX24_MODULE_NAMES];

export function moduleMatcher(names: Iterable<string>): (name: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const name of names) {
    if (name.endsWith('.*')) prefixes.push(name.slice(0, -1));
    else exact.add(name);
  }
  return (name) => exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix) && name.length > prefix.length);
}
