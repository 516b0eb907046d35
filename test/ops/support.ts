import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NewEvent } from '../../src/platform/events/index.js';
import type { TestHub } from '../support/hub.js';

/** Publishes the events in one transaction and returns their ids, in order. */
export async function publish(t: TestHub, events: NewEvent[]): Promise<number[]> {
  const { db, events: bus } = t.hub.ctx;
  const before = Number((await db.selectFrom('events').select((eb) => eb.fn.max('id').as('hi')).executeTakeFirst())?.hi ?? 0);
  await db.transaction().execute(async (trx) => {
    for (const e of events) await bus.publish(trx, e);
  });
  const rows = await db.selectFrom('events').select('id').where('id', '>', before).orderBy('id').execute();
  return rows.map((r) => Number(r.id));
}

/** Fails instead of hanging when `work` does not settle in time (a drain waiting out a backoff on a frozen clock). */
export function within<T>(work: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const root = fileURLToPath(new URL('../..', import.meta.url));
export const POISON_PLUGIN = join(root, 'test/ops/fixtures/poison-plugin.ts');

/**
 * Runs `conveyor --database <url> …args` as a separate process, as an operator would. Its log level is
 * info (shown as warn lines on stderr), so the audit line of a change can be checked.
 */
export function conveyor(databaseUrl: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, CONVEYOR_CONFIG: '', CONVEYOR_PLUGINS: POISON_PLUGIN, LOG_LEVEL: 'info' };
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/conveyor.js', '--database', databaseUrl, ...args], { cwd: root, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
