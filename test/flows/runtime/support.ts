import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { createHub, type Hub } from '../../../src/hub.js';
import { loadConfig } from '../../../src/platform/config/index.js';
import type { Clock } from '../../../src/platform/clock.js';
import type { BuiltApp } from '../../../src/platform/http/index.js';
import { StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { scratchDatabase, type ScratchDatabase } from '../../support/databases.js';
import { injector, type CallOptions } from '../../support/hub.js';

export interface FlowHub {
  hub: Hub;
  built: BuiltApp;
  db: ScratchDatabase;
  dir: string;
  call(method: string, url: string, options?: CallOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface FlowHubOptions {
  /** File name → contents, written into a fresh flows.dir. */
  files: Record<string, string>;
  modules?: LocalModule[];
  flows?: Record<string, unknown>;
  clock?: Clock;
  jobs?: Record<string, unknown>;
  /** Reuse a database (and flows.dir) of an earlier hub: it is then not dropped on close. */
  reuse?: { db: ScratchDatabase; dir: string };
  /** Plugin module paths (config `plugins`). */
  plugins?: string[];
}

/** A hub on a fresh database with the given flow files, local test modules, and job workers running. */
export async function startFlowHub(kind: 'sqlite' | 'postgres', o: FlowHubOptions): Promise<FlowHub> {
  const dir = o.reuse?.dir ?? mkdtempSync(join(tmpdir(), 'conveyor-flows-'));
  for (const [name, text] of Object.entries(o.files)) writeFileSync(join(dir, name), text);
  const db = o.reuse?.db ?? (await scratchDatabase(kind));
  const cleanUp = async () => {
    if (o.reuse) return;
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig({
      env: {},
      overrides: {
        database: { url: db.url, poolSize: 5 },
        log: { level: 'silent' },
        auth: { passwordHashCost: 10 },
        demo: { seed: false },
        jobs: { enabled: true, pollIntervalMs: 50, concurrency: 4, ...o.jobs },
        flows: { dir, ...o.flows },
        plugins: o.plugins ?? [],
      },
    });
    const hub = await createHub(config, { clock: o.clock, flowModules: o.modules });
    const built = await hub.buildApp();
    await hub.startBackground();
    return {
      hub,
      built,
      db,
      dir,
      call: injector(built),
      async close() {
        await built.app.close();
        await hub.close();
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends a request and waits (bounded) for the outcome; fails the test unless the run ended in time. */
export async function runToEnd(f: FlowHub, flowId: string, body: unknown, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const res = await f.call('POST', `/flows/${flowId}/requests?wait=20000`, { body, headers });
  if (res.statusCode !== 200) throw new Error(`expected the run to end within the wait: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const getRun = async (f: FlowHub, runId: string) => (await f.call('GET', `/runs/${runId}`)).json() as Record<string, any>;

/**
 * A stand-in for the Bitrix24 modules of 001: an in-memory CRM with contacts and deals. Every call is
 * recorded with its idempotency key, so tests can count what each module saw.
 */
export function fakeCrm() {
  const contacts = new Map<string, { ID: string; PHONE: string }>();
  const deals = new Map<string, { ID: string; CONTACT_ID: string; TITLE: string; STAGE_ID: string }>();
  const calls: { module: string; key: string; attempt: number; input: unknown }[] = [];
  const record = (module: string) => (input: unknown, call: { idempotencyKey: string; attempt: number }) => calls.push({ module, key: call.idempotencyKey, attempt: call.attempt, input });
  const modules: LocalModule[] = [
    {
      name: 'bitrix24.find-contact',
      run(input, call) {
        record('find-contact')(input, call);
        const { phone } = input as { phone?: string };
        return contacts.get(String(phone)) ?? { ID: null };
      },
    },
    {
      name: 'bitrix24.find-deal',
      run(input, call) {
        record('find-deal')(input, call);
        const { contactId } = (input ?? {}) as { contactId?: string };
        const found = [...deals.values()].find((d) => d.CONTACT_ID === (contactId ?? (input as any)?.['bitrix-find-contact']?.ID));
        return { value: found ? { ID: found.ID } : null };
      },
    },
    {
      name: 'bitrix24.get-deal',
      run(input, call) {
        record('get-deal')(input, call);
        const deal = deals.get(String((input as { id?: string }).id));
        if (!deal) throw new StepFailure('NOT_FOUND', `deal ${String((input as { id?: string }).id)} not found`);
        return deal;
      },
    },
  ];
  return { contacts, deals, calls, modules, count: (module: string) => calls.filter((c) => c.module === module).length };
}

/** A module that holds each call until the test opens the gate (or the call is aborted). */
export function gateModule(name = 'gate') {
  let open!: () => void;
  let opened = new Promise<void>((r) => (open = r));
  const seen: { key: string; aborted: boolean }[] = [];
  const module: LocalModule = {
    name,
    async run(input, call, signal) {
      const entry = { key: call.idempotencyKey, aborted: false };
      seen.push(entry);
      await new Promise<void>((resolve, reject) => {
        opened.then(resolve);
        signal.addEventListener('abort', () => {
          entry.aborted = true;
          reject(new Error('aborted'));
        });
      });
      return { passed: true, input: (input as Record<string, unknown>)?.request ?? null };
    },
  };
  return {
    module,
    seen,
    open: () => open(),
    reset() {
      opened = new Promise<void>((r) => (open = r));
    },
  };
}
