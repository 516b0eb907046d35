/**
 * Dot paths into the run context: `get-bitrix-deal.value`, `request.items.0.sku`. Only own properties
 * are followed, so a path can never reach `__proto__` or `constructor`.
 */
export function splitPath(path: string): string[] {
  return path.split('.');
}

export function getPath(context: unknown, path: string | readonly string[]): unknown {
  const parts = typeof path === 'string' ? splitPath(path) : path;
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
