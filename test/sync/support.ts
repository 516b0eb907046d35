import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRoistatEmulator, type RoistatEmulator } from '../connectors/roistat/emulator.js';
import { startTestHub, type TestHub } from '../support/hub.js';

/** Polls until `check` holds; fails with `what` (and the last state seen) after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The document's five registrars, fast, for tests. */
export function fastRegistrars(syncIntervalHours = 1) {
  const classes = [
    'ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar',
    'ru.bgcrm.plugin.roistat.order.task.UpdatedOrderRegistrar',
    'ru.bgcrm.plugin.roistat.client.task.ErrorClientRegistrar',
    'ru.bgcrm.plugin.roistat.order.task.ErrorOrderRegistrar',
    'ru.bgcrm.plugin.roistat.order.status.task.OrderStatusRegistrar',
  ];
  return { task: Object.fromEntries(classes.map((c, i) => [String(i + 1), { class: c, period: 30, syncInterval: syncIntervalHours }])) };
}

export interface SyncFixture {
  hub: TestHub;
  emu: RoistatEmulator;
  close(): Promise<void>;
}

/** A hub with the Roistat sync on, against a fresh emulator. `roistat` merges into plugin.roistat. */
export async function startSyncHub(kind: 'sqlite' | 'postgres', roistat: Record<string, unknown> = {}, options: { syncIntervalHours?: number; emu?: RoistatEmulator; demo?: boolean } = {}): Promise<SyncFixture> {
  const emu = options.emu ?? (await startRoistatEmulator());
  const hub = await startTestHub(kind, {
    background: true,
    demo: options.demo,
    config: {
      plugin: { roistat: { enabled: true, project: emu.project, apiKey: emu.apiKey, baseUrl: emu.url, rateLimit: { perSecond: 10, perHour: 5000 }, ...roistat } },
      scheduler: fastRegistrars(options.syncIntervalHours),
    },
  });
  return {
    hub,
    emu,
    async close() {
      await hub.close();
      await emu.close();
    },
  };
}

/** Writes a provider module into a temp folder and returns its path. */
export function providerModule(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-provider-'));
  const path = join(dir, 'provider.mjs');
  writeFileSync(path, source);
  return path;
}

/** Creates the reference data the deal tests use: deal type 1 and statuses 1..3. */
export async function seedDealReference(hub: TestHub): Promise<void> {
  const ok = async (url: string, body: unknown) => {
    const r = await hub.call('POST', url, { body });
    if (r.statusCode !== 201 && r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    return r.json() as Record<string, unknown>;
  };
  await ok('/deal_types', { name: 'Order' });
  await ok('/deal_types', { name: 'Internal' });
  await ok('/deal_statuses', { name: 'New', type: 'progress' });
  await ok('/deal_statuses', { name: 'Paid', type: 'paid' });
  await ok('/deal_statuses', { name: 'Cancelled', type: 'canceled' });
}

export const STATUS_CONFIG = {
  '1': { id: '1', title: 'New', type: 'progress' },
  '2': { id: '2', title: 'Paid', type: 'paid' },
  '3': { id: '3', title: 'Cancelled', type: 'canceled' },
};
