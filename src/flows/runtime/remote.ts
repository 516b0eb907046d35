import type { FlowsSettings } from './deps.js';
import type { ModuleTransport } from './module.js';

export type RemoteModuleSettings = FlowsSettings['modules'][string];
export type TransportKind = RemoteModuleSettings['transport'];

/** Builds the transport of one configured module; one factory per transport kind. */
export type TransportFactory = (module: string, settings: RemoteModuleSettings) => Promise<ModuleTransport> | ModuleTransport;
export type TransportFactories = Partial<Record<TransportKind, TransportFactory>>;

const REQUIRED: Record<TransportKind, (keyof RemoteModuleSettings)[]> = {
  http: ['url', 'secret'],
  nats: ['servers'],
  rabbitmq: ['url'],
};

/**
 * Connects every module of `flows.modules` through the factory of its transport. Every problem is
 * listed at once (a missing key, a transport this build cannot reach), before anything connects.
 */
export async function connectRemoteModules(modules: FlowsSettings['modules'], factories: TransportFactories): Promise<Map<string, ModuleTransport>> {
  const problems: string[] = [];
  for (const [name, settings] of Object.entries(modules)) {
    for (const key of REQUIRED[settings.transport]) {
      if (settings[key] === undefined) problems.push(`flows.modules.${name}.${key}: transport ${settings.transport} needs it`);
    }
    if (!factories[settings.transport]) problems.push(`flows.modules.${name}.transport: ${settings.transport} is not available in this build`);
  }
  if (problems.length > 0) throw new Error(`flows.modules has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  const out = new Map<string, ModuleTransport>();
  try {
    for (const [name, settings] of Object.entries(modules)) out.set(name, await factories[settings.transport]!(name, settings));
  } catch (err) {
    await Promise.allSettled([...out.values()].map((t) => t.close?.()));
    throw err;
  }
  return out;
}

/** Remote modules for a process that calls none (the CLI): known by name, so stored flows naming them parse; a call is refused. */
export function remoteModulesByName(modules: FlowsSettings['modules']): Map<string, ModuleTransport> {
  const out = new Map<string, ModuleTransport>();
  for (const [name, settings] of Object.entries(modules)) {
    out.set(name, {
      kind: settings.transport === 'http' ? 'http' : 'queue',
      call: () => Promise.reject(new Error(`module ${name} is not connected in a command-line process, which runs no steps`)),
    });
  }
  return out;
}
