/**
 * Dot paths into the run context: `get-bitrix-deal.value`, `request.items.0.sku`. Only own properties
 * are followed, so a path can never reach `__proto__` or `constructor`.
 */
export function splitPath(path: string): string[] {
  return path.split('.');
}

// Paths come from flow definitions (inputs, templates, transform fields), so there are few of them:
// each is split once, not on every step. Bounded all the same.
const split = new Map<string, readonly string[]>();
const SPLIT_CACHE_SIZE = 10_000;

function partsOf(path: string): readonly string[] {
  let parts = split.get(path);
  if (parts === undefined) {
    if (split.size >= SPLIT_CACHE_SIZE) split.clear();
    split.set(path, (parts = splitPath(path)));
  }
  return parts;
}

export function getPath(context: unknown, path: string | readonly string[]): unknown {
  const parts = typeof path === 'string' ? partsOf(path) : path;
  let node: unknown = context;
  for (const part of parts) {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(part)) return undefined;
      node = node[Number(part)];
    } else {
      if (!Object.hasOwn(node, part)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
  }
  return node;
}
