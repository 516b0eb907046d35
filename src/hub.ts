import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { Authenticator } from './platform/auth/index.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { Config } from './platform/config/index.js';
import type { HubContext } from './platform/context.js';
import { migrateToLatest, openDatabase } from './platform/db/index.js';
import { createEventBus, eventsMigration, eventSubscribersMigration, scheduleEventPruning } from './platform/events/index.js';
import { buildHttpApp, type BuiltApp } from './platform/http/index.js';
import { createJobQueue, jobsMigration } from './platform/jobs/index.js';
import { createLogger, type Logger } from './platform/logging/index.js';
import { createOperations, registerOpsRoutes, type Operations } from './platform/ops/index.js';
import { createPrincipalStore, directoryMigrations, registerDirectoryRoutes, seedBootstrap, seedDemo } from './directory/index.js';
import { registerRoistatRoutes, startRoistatSync, syncMigration, type RoistatSync } from './sync/index.js';
import {
  configuredLocalModules,
  createFlowRuntime,
  createHttpTransport,
  createNatsTransport,
  createRabbitTransport,
  flowsMigration,
  flowsReplayIndexMigration,
  registerFlowCallbackRoutes,
  registerFlowRoutes,
  type CallbackReceiver,
  type FlowRuntime,
  type LocalModule,
} from './flows/index.js';

export const MIGRATIONS = [eventsMigration, jobsMigration, eventSubscribersMigration, ...directoryMigrations, syncMigration, flowsMigration, flowsReplayIndexMigration];

export interface HubOptions {
  log?: Logger;
  clock?: Clock;
  /** Seed the demo directory into an empty database (default: config.demo.seed). */
  demo?: boolean;
  /** Local flow modules besides the built-ins and the plugins' `flowModules` (tests, embedding). */
  flowModules?: LocalModule[];
  /**
   * A short-lived command (`jobs`, `events`, `runs`, `users`): it starts no background work, so the
   * Roistat sync is not started, remote flow modules are not connected, nothing hears other processes'
   * run cancels, and the flows are the versions the hubs registered, not the files (createFlowRuntime).
   */
  command?: boolean;
}

export interface Hub {
  ctx: HubContext;
  /** The Roistat sync when plugin.roistat.enabled (for tools, tests and benchmarks). */
  roistat: RoistatSync | undefined;
  /** The flow runtime: loaded flows, intake, supervisor. */
  flows: FlowRuntime;
  /** Dead jobs and stuck event subscribers: the /jobs and /event-subscribers API and the CLI use the same. */
  ops: Operations;
  buildApp(): Promise<BuiltApp>;
  /** Starts event delivery and (when enabled) job workers. */
  startBackground(): Promise<void>;
  close(): Promise<void>;
}

/** The composition root: builds the context once and wires every module to it. */
export async function createHub(config: Readonly<Config>, options: HubOptions = {}): Promise<Hub> {
  const log = options.log ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  const database = openDatabase(config.database.url, {
    poolSize: config.database.poolSize,
    onBackgroundError: (message) => log.warn({ err: message }, 'SQLite WAL checkpoint failed; the writer checkpoints on its own past its backstop'),
  });
  try {
    const { applied } = await migrateToLatest(database, MIGRATIONS);
    if (applied.length) log.info({ applied, database: database.description }, 'applied migrations');
  } catch (err) {
    await database.close();
    throw err;
  }
  const { db, dialect } = database;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const events = createEventBus({ db, dialect, log: log.child({ component: 'events' }), clock, pruneBatchSize: config.events.pruneBatchSize });
  const jobs = createJobQueue({ db, dialect, log: log.child({ component: 'jobs' }), clock, options: config.jobs });
  const auth = new Authenticator(createPrincipalStore(db), config.auth, clock);
  const ctx: HubContext = { config, database, db, dialect, log, clock, events, jobs, metrics, auth };
  const ops = createOperations({ db, dialect, clock, log: log.child({ component: 'ops' }), events, jobs });
  scheduleEventPruning({ events, jobs, metrics, retentionDays: config.events.retentionDays });

  new Gauge({
    name: 'conveyor_jobs',
    help: 'Jobs by state',
    labelNames: ['state'],
    registers: [metrics],
    async collect() {
      for (const [state, n] of Object.entries(await jobs.counts())) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'conveyor_event_consumer_lag',
    help: 'Events not yet delivered, by subscriber',
    labelNames: ['consumer'],
    registers: [metrics],
    async collect() {
      for (const [consumer, n] of Object.entries(await events.lag())) this.set({ consumer }, n);
    },
  });

  await seedBootstrap(ctx);
  if (options.demo ?? config.demo.seed) await seedDemo(ctx, config.demo.clients);
  // By the config alone, not options.demo: a worker (which never seeds) runs the flows `start` runs.
  const flowsDir = options.command ? config.flows.dir : flowsFolder(config, log);
  const flowModules = [...(options.flowModules ?? [])];
  for (const plugin of config.plugins) {
    const mod = await importPlugin(plugin);
    if (mod.flowModules) flowModules.push(...mod.flowModules);
    if (mod.register) await mod.register(ctx);
  }
  const roistat = options.command ? undefined : await startRoistatSync(ctx);
  let flows: FlowRuntime;
  const callbackReceivers = new Map<string, CallbackReceiver>();
  try {
    const stepTimeoutMs = config.flows.stepTimeoutMs;
    const transportLog = log.child({ component: 'flows.transport' });
    const publicUrl = (config.flows.publicUrl ?? `http://${config.http.host}:${config.http.port}`).replace(/\/+$/, '');
    flows = await createFlowRuntime({
      database,
      clock,
      log,
      events,
      jobs,
      settings: { ...config.flows, dir: flowsDir },
      metrics,
      command: options.command,
      modules: [...configuredLocalModules(config.flows, { log: log.child({ component: 'bitrix24' }) }, flowModules), ...flowModules],
      afterCommit: (wake = {}) => {
        if (wake.jobs !== false) jobs.nudge();
        if (wake.events !== false) events.poke();
      },
      // Remote modules (flows.modules.<name>); HTTP modules may answer 202 and call back to /flows/callbacks/<module>/<token>.
      transports: {
        http: (m, s) => {
          const transport = createHttpTransport({ url: s.url!, secret: s.secret!, timeoutMs: s.timeoutMs ?? stepTimeoutMs, log: transportLog, callbackBaseUrl: `${publicUrl}/flows/callbacks/${encodeURIComponent(m)}` });
          callbackReceivers.set(m, transport);
          return transport;
        },
        nats: (m, s) => createNatsTransport({ servers: s.servers!, module: m, timeoutMs: s.timeoutMs ?? stepTimeoutMs, log: transportLog }),
        rabbitmq: (m, s) => createRabbitTransport({ url: s.url!, module: m, timeoutMs: s.timeoutMs ?? stepTimeoutMs, log: transportLog }),
      },
    });
  } catch (err) {
    await database.close();
    throw err;
  }

  let started = false;
  return {
    ctx,
    roistat,
    flows,
    ops,
    buildApp: () =>
      buildHttpApp(ctx, [
        registerDirectoryRoutes,
        (app) => registerRoistatRoutes(app, ctx, roistat),
        (app) => registerFlowRoutes(app, ctx, flows),
        (app) => registerFlowCallbackRoutes(app, callbackReceivers),
        (app) => registerOpsRoutes(app, ops),
      ]),
    async startBackground() {
      started = true;
      await events.start();
      if (config.jobs.enabled) await jobs.start();
    },
    async close() {
      if (started) {
        await jobs.stop();
        await events.stop();
      }
      await flows.close();
      await database.close();
    },
  };
}

export interface Plugin {
  register?: (ctx: HubContext) => unknown;
  flowModules?: LocalModule[];
}

/** A plugin file of the config (`plugins`), relative to the working directory: what it exports for the hub. */
export async function importPlugin(path: string): Promise<Plugin> {
  const mod = (await import(pathToFileURL(resolve(path)).href)) as Plugin;
  const register = typeof mod.register === 'function' ? mod.register : undefined;
  const flowModules = Array.isArray(mod.flowModules) ? mod.flowModules : undefined;
  if (!register && !flowModules) throw new Error(`plugin ${path} exports neither register(ctx) nor flowModules`);
  return { register, flowModules };
}

/** The demo flows, shipped with the code (examples/flows/demo). */
const DEMO_FLOWS_DIR = fileURLToPath(new URL('../examples/flows/demo', import.meta.url));

/**
 * The folder flows load from: flows.dir, or — with the demo on, demo.flows set and no flows.dir folder
 * — the demo flows, so that a fresh `npm start` has a flow to try. Said at info, since a mistyped
 * flows.dir would otherwise quietly run the demo.
 */
function flowsFolder(config: Config, log: Logger): string {
  if (!config.demo.seed || !config.demo.flows || existsSync(resolve(config.flows.dir))) return config.flows.dir;
  log.info({ flowsDir: config.flows.dir, demoFlows: DEMO_FLOWS_DIR }, 'no flows folder: loading the demo flows (demo.flows: false or --no-demo turns them off)');
  return DEMO_FLOWS_DIR;
}
