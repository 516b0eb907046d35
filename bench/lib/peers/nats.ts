import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, onCleanup, startProcess, waitForHttp, type Managed } from '../lifecycle.js';

// A throwaway JetStream server (nats-server -js, store in a temp dir) and the process that serves the
// stand-in modules on it.

export interface NatsSetup {
  url: string;
  modules: Managed;
  stop(): Promise<void>;
}

export async function startNats(): Promise<NatsSetup> {
  const store = mkdtempSync(join(tmpdir(), 'conveyor-bench-nats-'));
  const removeStore = onCleanup(async () => rmSync(store, { recursive: true, force: true }));
  const [port, monitor] = [await freePort(), await freePort()];
  const server = startProcess('nats-server', 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-sd', store]);
  await waitForHttp(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`, server, 20_000);
  const url = `nats://127.0.0.1:${port}`;
  const script = fileURLToPath(new URL('./nats-modules.ts', import.meta.url));
  const modules = startProcess('nats modules', process.execPath, ['--import', 'tsx', script, url]);
  const deadline = Date.now() + 30_000;
  while (!modules.output().includes('ready')) {
    if (modules.child.exitCode !== null || Date.now() > deadline) throw new Error(`the NATS module process did not start:\n${modules.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    modules,
    async stop() {
      await modules.stop();
      await server.stop();
      await removeStore();
    },
  };
}
