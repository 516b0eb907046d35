import { Counter, Gauge } from 'prom-client';
import { createRoistatClient, type RoistatClient } from '../../../connectors/roistat/index.js';
import type { HubContext } from '../../../platform/context.js';
import type { TaskRepeat } from '../../../platform/jobs/index.js';
import { canonicalJson, payloadHash, syncStore } from '../../engine/index.js';
import { createDetection, DETECTION_TOPICS, TARGET, type Detection, type SyncKind } from './detection.js';
import { loadProviders } from './provider-loader.js';
import { createRegistrars, type Registrars, type RunOutcome } from './registration.js';
import { REGISTRAR_NAMES, resolveRoistatSettings, type RegistrarName, type RegistrarSettings, type RoistatSettings } from './settings.js';

/** The detection subscribers' names (their checkpoints), by kind. */
export const DETECT_SUBSCRIBERS: Record<SyncKind, string> = { client: 'sync.roistat.detect.clients', order: 'sync.roistat.detect.orders' };
export const FULL_SCAN_TASK = 'sync.roistat.full-scan';
const RESEND_TASK = 'sync.roistat.resend-orders';
const PRUNE_TASK = 'sync.roistat.prune-history';
export const SCAN_KEY = 'scan';
const SCAN_CHUNK = 1000;
const taskName = (registrar: RegistrarName) => `sync.roistat.${registrar}`;

export interface RoistatSync {
  settings: RoistatSettings;
  client: RoistatClient;
  detection: Detection;
  registrars: Registrars;
  /** Rebuilds every client and deal (missing, changed or new configuration); resumable. */
  requestFullScan(): Promise<void>;
}

export interface ScanState {
  fingerprint: string;
  phase: 'clients' | 'orders' | 'done';
  afterId: number;
}

/**
 * Wires the Roistat sync into a hub: detection subscribes to directory events, each registrar is a
 * periodic job (one live instance across all processes), and a full scan covers what happened before
 * the sync was enabled or its configuration changed. Returns undefined while the plugin is disabled.
 */
export async function startRoistatSync(ctx: HubContext): Promise<RoistatSync | undefined> {
  const { settings, warnings } = resolveRoistatSettings(ctx.config);
  const log = ctx.log.child({ component: 'sync.roistat' });
  for (const warning of warnings) log.warn(warning);
  let sync: RoistatSync | undefined;
  // Tasks exist even while disabled, so jobs left from an earlier configuration end quietly.
  for (const name of REGISTRAR_NAMES) ctx.jobs.defineTask(taskName(name), async (_p, job) => (sync ? runRegistrar(sync, name, job.signal) : undefined));
  ctx.jobs.defineTask(FULL_SCAN_TASK, async (_p, job) => (sync ? fullScan(ctx, sync, job.signal) : undefined));
  ctx.jobs.defineTask(RESEND_TASK, async () => {
    if (sync?.settings.orders.resend) await sync.registrars.resendRecentOrders();
  });
  ctx.jobs.defineTask(PRUNE_TASK, async () => {
    if (sync) await syncStore.pruneHistory(ctx.db, ctx.clock.now() - sync.settings.historyDays * 86_400_000);
  });
  if (!settings.enabled) return undefined;

  const client = createRoistatClient({
    baseUrl: settings.baseUrl,
    apiKey: settings.apiKey,
    project: settings.project,
    rateLimit: settings.rateLimit,
    clock: ctx.clock,
    log: log.child({ component: 'roistat.client' }),
  });
  const providers = await loadProviders({ settings, log });
  const detection = createDetection({ db: ctx.db, dialect: ctx.dialect, clock: ctx.clock }, settings, providers);
  const metrics = syncMetrics(ctx);
  const registrars = createRegistrars({
    db: ctx.db,
    dialect: ctx.dialect,
    clock: ctx.clock,
    log,
    events: ctx.events,
    client,
    settings,
    detection,
    onResult: (kind, result, n) => n > 0 && metrics.registrations.inc({ target: TARGET, kind, result }, n),
  });
  sync = { settings, client, detection, registrars, requestFullScan: () => requestFullScan(ctx, settings, true) };

  for (const kind of ['client', 'order'] as const) {
    ctx.events.subscribeBatch(DETECT_SUBSCRIBERS[kind], (events) => detection.handleEvents(kind, events), { topics: DETECTION_TOPICS[kind], batchSize: 5000 });
  }
  // A restart is how an operator applies a fixed configuration: an earlier halt does not outlive it.
  await registrars.resume();
  for (const r of settings.registrars) await ctx.jobs.enqueue(ctx.db, taskName(r.registrar), {}, { key: taskName(r.registrar) });
  if (settings.orders.resend) ctx.jobs.schedule(RESEND_TASK, '17 * * * *', RESEND_TASK);
  ctx.jobs.schedule(PRUNE_TASK, '43 3 * * *', PRUNE_TASK);
  await requestFullScan(ctx, settings, false);
  log.info(
    { project: settings.project, baseUrl: settings.baseUrl, registrars: settings.registrars.map((r) => r.registrar), dealTypes: settings.orders.types },
    'Roistat sync enabled',
  );
  return sync;
}

async function runRegistrar(sync: RoistatSync, name: RegistrarName, signal: AbortSignal): Promise<TaskRepeat | void> {
  const own = sync.settings.registrars.find((r) => r.registrar === name);
  if (!own) return; // no longer configured: the job ends
  const enabled = (n: RegistrarName) => sync.settings.registrars.some((r) => r.registrar === n);
  let outcome: RunOutcome;
  switch (name) {
    case 'UpdatedClientRegistrar':
      outcome = await sync.registrars.updated('client', signal);
      break;
    case 'UpdatedOrderRegistrar':
      outcome = await sync.registrars.updated('order', signal);
      break;
    case 'ErrorClientRegistrar':
    case 'ErrorOrderRegistrar': {
      const kind: SyncKind = name === 'ErrorClientRegistrar' ? 'client' : 'order';
      const requeued = await sync.registrars.requeueErrors(kind, own.syncIntervalHours);
      // Normally the Updated registrar sends what was queued again; without one, this one does.
      const sender: RegistrarName = kind === 'client' ? 'UpdatedClientRegistrar' : 'UpdatedOrderRegistrar';
      outcome = requeued > 0 && !enabled(sender) ? await sync.registrars.updated(kind, signal) : { registered: 0, failed: 0, stop: 'idle' };
      break;
    }
    case 'OrderStatusRegistrar':
      outcome = await sync.registrars.statuses();
      break;
  }
  return { repeatAfterMs: nextRunIn(own, outcome) };
}

function nextRunIn(own: RegistrarSettings, outcome: RunOutcome): number {
  switch (outcome.stop) {
    case 'time-up':
      return 0; // more work is waiting: the run only gave its job slot back
    case 'rate-limited':
      return Math.max(own.periodMs, outcome.retryAfterMs ?? 1000);
    case 'unavailable':
      return Math.max(own.periodMs, 5000); // do not hammer a remote that is down
    case 'halted':
      return Math.max(own.periodMs, 1000); // one cheap read a second notices a resume soon enough
    default:
      return own.periodMs;
  }
}

/** What change detection depends on: when it changes, every entity must be rebuilt. */
function detectionFingerprint(settings: RoistatSettings): string {
  const { clients, orders, statuses } = settings;
  return payloadHash(canonicalJson({ clients, types: orders.types, providers: orders.providerByType, statuses: statuses.map((s) => s.id) }));
}

async function requestFullScan(ctx: HubContext, settings: RoistatSettings, always: boolean): Promise<void> {
  const fingerprint = detectionFingerprint(settings);
  const state = await syncStore.readTargetState<ScanState>(ctx.db, TARGET, SCAN_KEY);
  if (!always && state?.fingerprint === fingerprint) {
    if (state.phase !== 'done') await ctx.jobs.enqueue(ctx.db, FULL_SCAN_TASK, {}, { key: FULL_SCAN_TASK });
    return;
  }
  await ctx.db.transaction().execute(async (trx) => {
    await syncStore.writeTargetState(trx, TARGET, SCAN_KEY, { fingerprint, phase: 'clients', afterId: 0 } satisfies ScanState, ctx.clock.now());
    await ctx.jobs.enqueue(trx, FULL_SCAN_TASK, {}, { key: FULL_SCAN_TASK });
  });
}

/** Walks clients then deals by id in chunks, saving its place after each, so a crash resumes. */
async function fullScan(ctx: HubContext, sync: RoistatSync, signal: AbortSignal): Promise<TaskRepeat | void> {
  const started = ctx.clock.now();
  for (;;) {
    const state = await syncStore.readTargetState<ScanState>(ctx.db, TARGET, SCAN_KEY);
    if (!state || state.phase === 'done') return;
    const table = state.phase === 'clients' ? 'clients' : 'deals';
    let q = ctx.db.selectFrom(table).select('id').where('id', '>', state.afterId).orderBy('id').limit(SCAN_CHUNK);
    if (table === 'deals') q = q.where('deal_type_id', 'in', sync.settings.orders.types.length > 0 ? sync.settings.orders.types : [-1]);
    const ids = (await q.execute()).map((r) => Number(r.id));
    if (ids.length > 0) {
      if (table === 'clients') await sync.detection.clients(ids);
      else await sync.detection.orders(ids);
    }
    const next: ScanState =
      ids.length === SCAN_CHUNK
        ? { ...state, afterId: ids[ids.length - 1]! }
        : state.phase === 'clients'
          ? { ...state, phase: 'orders', afterId: 0 }
          : { ...state, phase: 'done', afterId: 0 };
    await syncStore.writeTargetState(ctx.db, TARGET, SCAN_KEY, next, ctx.clock.now());
    if (next.phase === 'done') ctx.log.info({ target: TARGET }, 'Roistat full scan finished');
    if (ctx.clock.now() - started > 30_000 || signal.aborted) return { repeatAfterMs: 0 };
  }
}

function syncMetrics(ctx: HubContext) {
  const registrations = new Counter({
    name: 'conveyor_sync_registrations_total',
    help: 'Entities registered on (or refused by) a sync target',
    labelNames: ['target', 'kind', 'result'],
    registers: [ctx.metrics],
  });
  new Gauge({
    name: 'conveyor_sync_entities',
    help: 'Synced entities by state',
    labelNames: ['target', 'kind', 'state'],
    registers: [ctx.metrics],
    async collect() {
      for (const [kind, states] of Object.entries(await syncStore.countByState(ctx.db, TARGET))) {
        for (const [state, n] of Object.entries(states)) this.set({ target: TARGET, kind, state }, n);
      }
    },
  });
  new Gauge({
    name: 'conveyor_sync_lag_seconds',
    help: 'Age of the oldest change not yet registered',
    labelNames: ['target', 'kind'],
    registers: [ctx.metrics],
    async collect() {
      for (const kind of ['client', 'order']) {
        const oldest = await syncStore.oldestPending(ctx.db, TARGET, kind);
        this.set({ target: TARGET, kind }, oldest === null ? 0 : Math.max(0, (ctx.clock.now() - oldest) / 1000));
      }
    },
  });
  new Gauge({
    name: 'conveyor_sync_halted',
    help: '1 while a configuration error stops the sync',
    labelNames: ['target'],
    registers: [ctx.metrics],
    async collect() {
      this.set({ target: TARGET }, (await syncStore.readTargetState(ctx.db, TARGET, 'halt')) ? 1 : 0);
    },
  });
  return { registrations };
}
