import {
  RoistatConfigError,
  RoistatRateLimitError,
  type RoistatClient,
  type RoistatError,
  type RoistatClientRecord,
  type RoistatOrderRecord,
} from '../../../connectors/roistat/index.js';
import type { Clock } from '../../../platform/clock.js';
import type { Db, SqlDialect } from '../../../platform/db/index.js';
import type { EventBus } from '../../../platform/events/index.js';
import type { Logger } from '../../../platform/logging/index.js';
import { canonicalJson, payloadHash, syncStore, type HistoryEntry, type SyncRow } from '../../engine/index.js';
import { TARGET, type Detection, type SyncKind } from './detection.js';
import type { RoistatSettings } from './settings.js';

export interface RegistrationDeps {
  db: Db;
  dialect: SqlDialect;
  clock: Clock;
  log: Logger;
  events: EventBus;
  client: RoistatClient;
  settings: RoistatSettings;
  detection: Detection;
  onResult?(kind: SyncKind, result: 'registered' | 'error', n: number): void;
}

/** How a registrar run ended. `idle`: nothing left; the others: stopped early, the rest waits. */
export type StopReason = 'idle' | 'time-up' | 'rate-limited' | 'unavailable' | 'halted';

export interface RunOutcome {
  registered: number;
  failed: number;
  stop: StopReason;
  /** When the remote asked us to wait (rate limit). */
  retryAfterMs?: number;
}

/** Set after a configuration error (bad key, unpaid option...): registrars stop until a person acts. */
export interface Halt {
  code: string;
  apiError?: string;
  httpStatus?: number;
  message: string;
  at: number;
}

export interface StatusState {
  hash: string;
  ids: string[];
  at: number;
}

export const HALT_KEY = 'halt';
export const STATUSES_KEY = 'statuses';
/** A run gives its job slot back after this long (the job repeats at once when work is left). */
const MAX_RUN_MS = 30_000;

export interface Registrars {
  /** UpdatedClientRegistrar / UpdatedOrderRegistrar: registers pending entities in batches until none is left. */
  updated(kind: SyncKind, signal?: AbortSignal): Promise<RunOutcome>;
  /** ErrorClientRegistrar / ErrorOrderRegistrar: rebuilds errored entities whose last attempt is old enough and queues them again. */
  requeueErrors(kind: SyncKind, syncIntervalHours: number): Promise<number>;
  /** OrderStatusRegistrar: sends the whole configured status list when it differs from the registered one. */
  statuses(): Promise<RunOutcome>;
  /** The re-send Roistat recommends: deals registered in the last 24 hours, again. */
  resendRecentOrders(): Promise<RunOutcome>;
  halted(): Promise<Halt | undefined>;
  resume(): Promise<boolean>;
}

export function createRegistrars(deps: RegistrationDeps): Registrars {
  const { db, clock, log, client, settings } = deps;
  const batchSize = settings.batchSize;

  async function halt(error: RoistatError): Promise<void> {
    const halt: Halt = { code: error.code, apiError: error.apiError, httpStatus: error.httpStatus, message: error.message, at: clock.now() };
    await db.transaction().execute(async (trx) => {
      await syncStore.writeTargetState(trx, TARGET, HALT_KEY, halt, halt.at);
      await deps.events.publish(trx, { topic: 'sync.roistat.halted', entityType: 'sync_target', entityId: TARGET, payload: halt });
    });
    log.error(
      { target: TARGET, code: error.code, apiError: error.apiError, httpStatus: error.httpStatus, endpoint: error.endpoint },
      `Roistat sync HALTED: ${error.message}. Nothing is lost: changes stay pending. Fix the configuration (API key, project, paid options), then restart or POST /sync/roistat/resume`,
    );
    deps.events.poke();
  }

  /** What stops a run when a send could not go through; marks nothing on its own. */
  function stopFor(error: RoistatError): { stop: StopReason; retryAfterMs?: number } {
    if (error instanceof RoistatConfigError) return { stop: 'halted' };
    if (error instanceof RoistatRateLimitError) return { stop: 'rate-limited', retryAfterMs: error.retryAfterMs };
    return { stop: 'unavailable' };
  }

  async function send(kind: SyncKind, records: unknown[]) {
    return kind === 'client'
      ? client.importClientsInBatches(records as RoistatClientRecord[], { batchSize })
      : client.addOrdersInBatches(records as RoistatOrderRecord[], { batchSize });
  }

  /** Sends one batch of pending rows and records every outcome in one transaction. */
  async function registerRows(kind: SyncKind, rows: SyncRow[]): Promise<RunOutcome> {
    const records = rows.map((r) => JSON.parse(r.payload!) as { id: string });
    const bulk = await send(kind, records);
    const now = clock.now();
    const history: HistoryEntry[] = [];
    let registered = 0;
    let failed = 0;
    let stopError: RoistatError | undefined;
    await db.transaction().execute(async (trx) => {
      // The remote id is the hub id (the provider checks enforce it), so accepted rows go in one statement.
      const accepted = await syncStore.markRegisteredMany(trx, deps.dialect, rows.filter((_, i) => bulk.results[i]!.ok), now);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const result = bulk.results[i]!;
        const base = { target: TARGET, kind, entityId: row.entityId, at: now, payloadHash: row.payloadHash };
        if (result.ok) {
          if (accepted.has(row.entityId)) {
            registered++;
            history.push({ ...base, action: 'registered' });
          }
          continue;
        }
        const error = result.error;
        // Rate limits and configuration errors are not this entity's fault: it stays pending.
        if (!result.sent && (error instanceof RoistatRateLimitError || error instanceof RoistatConfigError)) {
          stopError ??= error;
          continue;
        }
        if (!result.sent) stopError ??= error;
        if (await syncStore.markFailed(trx, row, error.code, error.message, now)) {
          failed++;
          history.push({ ...base, action: 'error', errorCode: error.code, error: error.message });
          await deps.events.publish(trx, { topic: 'sync.roistat.error', entityType: kind, entityId: row.entityId, payload: { code: error.code, error: error.message } });
        }
      }
      await syncStore.writeHistory(trx, deps.dialect, history);
      if (registered > 0) await deps.events.publish(trx, { topic: 'sync.roistat.registered', entityType: kind, entityId: 0, payload: { count: registered } });
    });
    deps.onResult?.(kind, 'registered', registered);
    deps.onResult?.(kind, 'error', failed);
    if (stopError instanceof RoistatConfigError) await halt(stopError);
    return { registered, failed, ...(stopError ? stopFor(stopError) : { stop: 'idle' }) };
  }

  async function readyFilter(kind: SyncKind) {
    if (kind === 'client') return undefined;
    const statuses = await syncStore.readTargetState<StatusState>(db, TARGET, STATUSES_KEY);
    return { dependsOnKind: 'client', statusRefs: statuses?.ids ?? [] };
  }

  const registrars: Registrars = {
    async updated(kind, signal) {
      const started = clock.now();
      const total: RunOutcome = { registered: 0, failed: 0, stop: 'idle' };
      if (await registrars.halted()) return { ...total, stop: 'halted' };
      const ready = await readyFilter(kind);
      for (;;) {
        const rows = await syncStore.pendingRows(db, TARGET, kind, batchSize, ready);
        if (rows.length === 0) return total;
        const outcome = await registerRows(kind, rows);
        total.registered += outcome.registered;
        total.failed += outcome.failed;
        if (outcome.stop !== 'idle') return { ...total, stop: outcome.stop, retryAfterMs: outcome.retryAfterMs };
        if (clock.now() - started > MAX_RUN_MS || signal?.aborted) return { ...total, stop: 'time-up' };
      }
    },

    async requeueErrors(kind, syncIntervalHours) {
      let requeued = 0;
      for (;;) {
        const due = await syncStore.dueErrorIds(db, TARGET, kind, clock.now() - syncIntervalHours * 3_600_000, batchSize);
        if (due.length === 0) return requeued;
        const result = kind === 'client' ? await deps.detection.clients(due, { force: true }) : await deps.detection.orders(due, { force: true });
        requeued += result.changed.length;
      }
    },

    async statuses() {
      const idle: RunOutcome = { registered: 0, failed: 0, stop: 'idle' };
      if (await registrars.halted()) return { ...idle, stop: 'halted' };
      const list = settings.statuses.map((s) => ({ id: s.id, name: s.name, type: s.type }));
      if (list.length === 0) return idle;
      const hash = payloadHash(canonicalJson(list));
      const current = await syncStore.readTargetState<StatusState>(db, TARGET, STATUSES_KEY);
      if (current?.hash === hash) return idle;
      try {
        // set-statuses REPLACES the dictionary: always the complete list, never a delta.
        await client.setStatuses(list);
      } catch (err) {
        if (!(err instanceof Error) || !('retryable' in err)) throw err;
        const error = err as RoistatError;
        if (error instanceof RoistatConfigError) await halt(error);
        else log.warn({ target: TARGET, code: error.code, err: error.message }, 'Roistat status registration failed; retrying next period');
        return { ...idle, failed: list.length, ...stopFor(error) };
      }
      const now = clock.now();
      await syncStore.writeTargetState(db, TARGET, STATUSES_KEY, { hash, ids: list.map((s) => s.id), at: now } satisfies StatusState, now);
      log.info({ target: TARGET, statuses: list.length }, 'Roistat deal statuses registered');
      return { ...idle, registered: list.length };
    },

    async resendRecentOrders() {
      const total: RunOutcome = { registered: 0, failed: 0, stop: 'idle' };
      if (await registrars.halted()) return { ...total, stop: 'halted' };
      const since = clock.now() - 24 * 3_600_000;
      let afterId = 0;
      for (;;) {
        const rows = await syncStore.recentlyRegistered(db, TARGET, 'order', since, afterId, batchSize);
        if (rows.length === 0) return total;
        afterId = rows[rows.length - 1]!.entityId;
        const bulk = await client.addOrdersInBatches(rows.map((r) => JSON.parse(r.payload) as RoistatOrderRecord), { batchSize });
        for (const r of bulk.results) {
          if (r.ok) total.registered++;
          else total.failed++;
        }
        const stopped = bulk.results.find((r) => !r.ok && !r.sent);
        if (stopped && !stopped.ok) {
          if (stopped.error instanceof RoistatConfigError) await halt(stopped.error);
          return { ...total, ...stopFor(stopped.error) };
        }
      }
    },

    halted: () => syncStore.readTargetState<Halt>(db, TARGET, HALT_KEY),

    async resume() {
      const was = await syncStore.deleteTargetState(db, TARGET, HALT_KEY);
      if (was) log.warn({ target: TARGET }, 'Roistat sync resumed');
      return was;
    },
  };
  return registrars;
}
