import type { LightMyRequestResponse } from 'fastify';
import { createHub, type Hub } from '../../src/hub.js';
import type { BuiltApp } from '../../src/platform/http/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import type { Clock } from '../../src/platform/clock.js';
import type { Logger } from '../../src/platform/logging/index.js';
import { scratchDatabase, type ScratchDatabase } from './databases.js';

export interface TestHub {
  hub: Hub;
  built: BuiltApp;
  db: ScratchDatabase;
  /** Sends a request through the real HTTP stack (no socket). `auth` defaults to Admin/admin; null sends none. */
  call(method: string, url: string, options?: CallOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestHubOptions {
  demo?: boolean;
  clock?: Clock;
  config?: Record<string, unknown>;
  /** Start event delivery and job workers (default false: tests drive them). */
  background?: boolean;
  /** The hub's logger (default: one at the configured level, silent in tests). */
  log?: Logger;
}

export type CallOptions = { auth?: [string, string] | null; body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer };

/** Requests through the app's real HTTP stack (no socket); `auth` defaults to Admin/admin, null sends none. */
export function injector(built: BuiltApp) {
  return (method: string, url: string, opts: CallOptions = {}): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    const auth = opts.auth === undefined ? (['Admin', 'admin'] as [string, string]) : opts.auth;
    if (auth) headers.authorization = basic(auth[0], auth[1]);
    let payload: string | Buffer | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    return built.app.inject({ method: method as 'GET', url, headers, payload });
  };
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A hub on a fresh database of the given kind, with the bootstrap Admin/admin. */
export async function startTestHub(kind: 'sqlite' | 'postgres', options: TestHubOptions = {}): Promise<TestHub> {
  const db = await scratchDatabase(kind);
  const base: Record<string, Record<string, unknown>> = {
    database: { url: db.url, poolSize: 5 },
    log: { level: 'silent' },
    // Cheaper password hashes keep the suite fast; production keeps the default cost (15).
    auth: { passwordHashCost: 10 },
    demo: { seed: options.demo ?? false, clients: 30 },
    jobs: { enabled: options.background ?? false, pollIntervalMs: 50 },
  };
  for (const [key, value] of Object.entries(options.config ?? {})) base[key] = { ...base[key], ...(value as Record<string, unknown>) };
  const config = loadConfig({ env: {}, overrides: base });
  const hub = await createHub(config, { clock: options.clock, log: options.log });
  const built = await hub.buildApp();
  if (options.background) await hub.startBackground();
  return {
    hub,
    built,
    db,
    call: injector(built),
    async close() {
      await built.app.close();
      await hub.close();
      await db.drop();
    },
  };
}

/** Rows of a table, counted (to show that a refused request stored nothing). */
export async function countRows(t: TestHub, table: string): Promise<number> {
  return Number((await t.hub.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

/** The outbox rows of one entity, oldest first, read straight from the events table. */
export async function eventRows(t: TestHub, entityType: string, entityId: number) {
  return t.hub.ctx.db.selectFrom('events').selectAll().where('entity_type', '=', entityType).where('entity_id', '=', String(entityId)).orderBy('id').execute();
}
