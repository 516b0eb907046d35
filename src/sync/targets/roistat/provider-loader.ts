import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCommonClientProvider } from './common-client-provider.js';
import type { ClientDetailsProvider, OrderDetailsProvider, ProviderContext } from './providers.js';
import { createStandardOrderProvider } from './standard-order-provider.js';

export interface LoadedProviders {
  client: ClientDetailsProvider;
  /** By deal type id: only the configured types are here. */
  orderByType: Map<number, OrderDetailsProvider>;
}

/** Resolves every configured provider once at start; a bad module path or export fails the start. */
export async function loadProviders(ctx: ProviderContext, cwd = process.cwd()): Promise<LoadedProviders> {
  const { settings } = ctx;
  const problems: string[] = [];
  const client = await loadOne<ClientDetailsProvider>(settings.clients.provider, 'clientDetails', ctx, cwd, problems, {
    common: () => createCommonClientProvider(settings.clients.common),
  });
  const orderByType = new Map<number, OrderDetailsProvider>();
  const cache = new Map<string, OrderDetailsProvider | undefined>();
  for (const [type, spec] of Object.entries(settings.orders.providerByType)) {
    if (!cache.has(spec)) cache.set(spec, await loadOne<OrderDetailsProvider>(spec, 'orderDetails', ctx, cwd, problems, { standard: createStandardOrderProvider }));
    const provider = cache.get(spec);
    if (provider) orderByType.set(Number(type), provider);
  }
  if (problems.length > 0 || !client) throw new Error(`Roistat sync cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return { client, orderByType };
}

async function loadOne<P>(
  spec: string,
  method: 'clientDetails' | 'orderDetails',
  ctx: ProviderContext,
  cwd: string,
  problems: string[],
  builtIns: Record<string, () => P>,
): Promise<P | undefined> {
  const builtIn = builtIns[spec];
  if (builtIn) return builtIn();
  const path = resolve(cwd, spec);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    problems.push(`provider "${spec}": cannot load ${path} (${(err as Error).message.split('\n')[0]}); built-in providers: ${Object.keys(builtIns).join(', ')}`);
    return undefined;
  }
  const factoryName = method === 'clientDetails' ? 'createClientDetailsProvider' : 'createOrderDetailsProvider';
  let candidate = mod.default ?? mod[factoryName];
  try {
    if (typeof candidate === 'function') candidate = await (candidate as (c: ProviderContext) => unknown)(ctx);
  } catch (err) {
    problems.push(`provider "${spec}": its factory threw: ${(err as Error).message}`);
    return undefined;
  }
  if (!candidate || typeof (candidate as Record<string, unknown>)[method] !== 'function') {
    problems.push(`provider "${spec}" (${path}) must export default (or ${factoryName}) an object with a ${method}() method, or a function returning one`);
    return undefined;
  }
  return candidate as P;
}
