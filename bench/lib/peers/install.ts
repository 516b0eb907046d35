import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../hub-process.js';
import { onCleanup } from '../lifecycle.js';

// Node-RED and n8n are installed by the bench into .bench/peers/<name> (gitignored), never into the
// project's package.json; a later run reuses the install.

export const PEERS_DIR = join(REPO_ROOT, '.bench', 'peers');
const INSTALL_LIMIT_MS = 10 * 60_000;

export interface Installed {
  dir: string;
  version: string;
}

/**
 * Installs `spec` (e.g. `node-red@4`) once; resolves with its folder and version, or throws why not.
 * `overrides` go into the scratch folder's package.json (npm `overrides`), e.g. to take a dependency
 * from the registry instead of a tarball URL on a host the machine cannot reach.
 */
export async function ensurePeer(name: string, spec: string, overrides: Record<string, string> = {}): Promise<Installed> {
  const dir = join(PEERS_DIR, name);
  const pkgJson = join(dir, 'node_modules', name, 'package.json');
  if (!existsSync(pkgJson)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, overrides }, null, 2)}\n`);
    console.log(`  installing ${spec} into ${dir} (once; up to 10 min)…`);
    const started = Date.now();
    await npmInstall(dir, spec);
    console.log(`  installed ${spec} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  if (!existsSync(pkgJson)) throw new Error(`npm install ${spec} finished but ${pkgJson} is missing`);
  return { dir, version: (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version };
}

async function npmInstall(dir: string, spec: string): Promise<void> {
  const child = spawn('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', dir, spec], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const stop = onCleanup(async () => void (child.exitCode === null && child.kill('SIGTERM')));
  const timer = setTimeout(() => child.kill('SIGTERM'), INSTALL_LIMIT_MS);
  const progress = setInterval(() => console.log(`  …still installing ${spec}`), 30_000);
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`npm install ${spec} ${code === null ? 'took over 10 min or was killed' : `failed (exit ${code})`}:\n${output}`);
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    await stop();
  }
}
