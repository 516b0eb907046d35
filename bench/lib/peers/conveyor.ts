import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScratchDatabase } from '../databases.js';
import { REPO_ROOT } from '../hub-process.js';
import { freePort, startProcess, waitForHttp, type Managed } from '../lifecycle.js';
import { natsName } from './data.js';

// The real hub (`node bin/conveyor.js start`) with the 001 example in a temp flows dir. Local: the
// stand-ins come from a plugin file. NATS: the flow's bitrix24.* steps are renamed to remote modules
// on JetStream, served by nats-modules.ts in another process.

export const FLOW_ID = '001-deal-routing';
const EXAMPLE = join(REPO_ROOT, 'examples/flows/001-deal-routing.yaml');
const STANDINS = fileURLToPath(new URL('./standins.ts', import.meta.url));
const HUB_ENV_KEYS = ['DATABASE_URL', 'HOST', 'PORT', 'LOG_LEVEL', 'CONVEYOR_ALLOW_DEFAULT_ADMIN_PASSWORD', 'CONVEYOR_DEMO', 'CONVEYOR_PLUGINS', 'CONVEYOR_JOBS', 'CONVEYOR_CONFIG'];

export interface ConveyorProcess {
  url: string;
  proc: Managed;
  stop(): Promise<void>;
}

/** `nats`: the server URL when the bitrix24.* steps go over NATS instead of the local plugin;
 *  `nodeArgs`: e.g. ['--cpu-prof', '--cpu-prof-dir=…'] to see where the hub's time goes. */
export async function startConveyor(db: ScratchDatabase, workDir: string, { nats, nodeArgs = [] }: { nats?: string; nodeArgs?: string[] } = {}): Promise<ConveyorProcess> {
  const flowsDir = join(workDir, 'flows');
  mkdirSync(flowsDir, { recursive: true });
  let flow = readFileSync(EXAMPLE, 'utf8');
  const config: Record<string, unknown> = { database: { url: db.url }, log: { level: 'warn' }, demo: { seed: false }, flows: { dir: flowsDir } };
  if (nats) {
    const remote = ['find-contact', 'find-deal', 'get-deal'].map((m) => natsName(`bitrix24.${m}`));
    flow = flow.replace(/subsystem: bitrix24\.([a-z-]+)/g, (_, m: string) => `subsystem: ${natsName(`bitrix24.${m}`)}`);
    // The same reads as the local stand-ins, so declared safe the same way.
    config.flows = { dir: flowsDir, modules: Object.fromEntries(remote.map((name) => [name, { transport: 'nats', servers: nats, safe: true }])) };
  } else {
    config.plugins = [STANDINS];
  }
  writeFileSync(join(flowsDir, '001-deal-routing.yaml'), flow);
  const configFile = join(workDir, 'conveyor.yaml');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`); // JSON is YAML

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of HUB_ENV_KEYS) delete env[key];
  env.CONVEYOR_CONFIG = configFile;
  const port = await freePort();
  const proc = startProcess(`conveyor (${db.kind}${nats ? ', nats' : ''})`, process.execPath, [...nodeArgs, join(REPO_ROOT, 'bin/conveyor.js'), 'start', '--port', String(port), '--no-demo'], { env, cwd: REPO_ROOT });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, proc);
  return {
    url,
    proc,
    async stop() {
      const code = await proc.stop();
      if (code !== 0) throw new Error(`${proc.name} did not shut down cleanly (exit ${code}):\n${proc.output()}`);
    },
  };
}
