import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess, waitForHttp, type Managed } from './lifecycle.js';
import type { ScratchDatabase } from './databases.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Environment keys the hub's config loader reads: dropped so a developer's shell cannot change what
// is measured. CONVEYOR_CONFIG points at an empty file so a local conveyor.yaml is ignored too.
const HUB_ENV_KEYS = ['DATABASE_URL', 'HOST', 'PORT', 'LOG_LEVEL', 'CONVEYOR_ALLOW_DEFAULT_ADMIN_PASSWORD', 'CONVEYOR_DEMO', 'CONVEYOR_PLUGINS', 'CONVEYOR_JOBS', 'CONVEYOR_CONFIG'];

export interface HubProcess {
  url: string;
  proc: Managed;
  /** Finds the main thread's .cpuprofile, written when the hub exits (only with `profileAs`). */
  profileFile?: () => string | undefined;
  stop(): Promise<void>;
}

/**
 * The real hub exactly as an operator runs it (`node bin/conveyor.js start --no-demo`), in its own
 * process, on a free port. `profileAs` adds `--cpu-prof`; the profile is written on a clean exit.
 */
export async function startHub(db: ScratchDatabase, outDir: string, profileAs?: string): Promise<HubProcess> {
  const port = await freePort();
  const emptyConfig = join(outDir, 'empty-config.yaml');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(emptyConfig, '# bench: hub defaults only\n');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of HUB_ENV_KEYS) delete env[key];
  Object.assign(env, { DATABASE_URL: db.url, LOG_LEVEL: 'warn', CONVEYOR_CONFIG: emptyConfig });

  // One directory per profiled hub: every thread (tsx's loader thread too) writes its own profile.
  const profileDir = join(outDir, 'profiles', profileAs ?? '');
  const nodeArgs = profileAs ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const args = [...nodeArgs, join(REPO_ROOT, 'bin/conveyor.js'), 'start', '--port', String(port), '--no-demo'];
  const proc = startProcess(`hub (${db.kind})`, process.execPath, args, { env, cwd: REPO_ROOT });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, proc);
  return {
    url,
    proc,
    profileFile: profileAs ? () => mainThreadProfile(profileDir) : undefined,
    async stop() {
      const code = await proc.stop();
      if (code !== 0) throw new Error(`${proc.name} did not shut down cleanly (exit ${code}):\n${proc.output()}`);
    },
  };
}

/** Node names profiles CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is 0. */
export function mainThreadProfile(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir).find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  return file && join(dir, file);
}
