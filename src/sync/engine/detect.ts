import type { Clock } from '../../platform/clock.js';
import type { Db, SqlDialect } from '../../platform/db/index.js';
import { canonicalJson, payloadHash } from './hash.js';
import { readDetectStates, readRows, writeBuilt, writeHistory, writeRows, type BuiltWrite, type HistoryEntry, type SyncRow } from './store.js';

/** What a target makes of one entity right now. */
export type Built =
  /** The entity no longer exists, or no longer takes part (group, type, provider said no). */
  | { outcome: 'excluded'; reason: string }
  /** Building the details failed (a provider threw, a status is not configured...): this entity only. */
  | { outcome: 'error'; code: string; message: string }
  | { outcome: 'record'; record: unknown; dependsOn?: number | null; statusRef?: string | null };

export interface DetectSpec {
  target: string;
  kind: string;
  /** Builds the current details of every id, reading inside the detection transaction. */
  build(db: Db, ids: readonly number[]): Promise<Map<number, Built>>;
}

export interface DetectResult {
  /** Marked pending (new or changed data). */
  changed: number[];
  unchanged: number;
  errors: number;
  excluded: number;
}

export interface DetectDeps {
  db: Db;
  dialect: SqlDialect;
  clock: Clock;
}

/**
 * Change detection: rebuilds the details of `ids` and marks an entity pending only if the data the
 * details use changed (their hash differs from the last one built). `force` marks it pending anyway.
 * Runs under one lock per target and kind, reading inside the transaction, so two detections can
 * never write an older picture over a newer one.
 */
export async function detectChanges(deps: DetectDeps, spec: DetectSpec, ids: readonly number[], options: { force?: boolean } = {}): Promise<DetectResult> {
  const result: DetectResult = { changed: [], unchanged: 0, errors: 0, excluded: 0 };
  const unique = [...new Set(ids)];
  if (unique.length === 0) return result;
  await deps.db.transaction().execute(async (trx) => {
    await deps.dialect.lockForTransaction(trx, `sync:${spec.target}:${spec.kind}`);
    // Detection is derived data: its commit need not wait for the WAL flush (that wait was a third of
    // detection time). Nothing is lost: the subscriber's checkpoint is committed later, synchronously,
    // which flushes the WAL up to and past this commit; if a crash comes first, the events are delivered
    // again and detection, being idempotent, redoes the same work.
    await deps.dialect.skipCommitFlush(trx);
    const built = await spec.build(trx, unique);
    // Most entities either kept their data or got a new payload: those need only the state and the
    // hashes. Errors and exclusions (rare) rewrite whole rows, read in full below.
    const states = await readDetectStates(trx, deps.dialect, spec.target, spec.kind, unique);
    const now = deps.clock.now();
    const builtWrites: BuiltWrite[] = [];
    const history: HistoryEntry[] = [];
    const other: number[] = [];
    for (const id of unique) {
      const b = built.get(id) ?? GONE;
      const row = states.get(id);
      if (b.outcome !== 'record') {
        if (b.outcome === 'excluded' && (!row || row.state === 'excluded')) result.unchanged++;
        else other.push(id);
        continue;
      }
      const payload = canonicalJson(b.record);
      const hash = payloadHash(payload);
      // A build error is fixed by a good build; a remote error is retried by the error registrar.
      const sameAsBuilt = row && row.payloadHash === hash && row.state !== 'excluded' && !(row.state === 'error' && row.lastErrorCode?.startsWith('BUILD_'));
      if (sameAsBuilt && !options.force) {
        result.unchanged++;
        continue;
      }
      const reverted = !options.force && row?.registeredHash === hash;
      const { target, kind } = spec;
      builtWrites.push({ target, kind, entityId: id, state: reverted ? 'registered' : 'pending', payload, payloadHash: hash, dependsOn: b.dependsOn ?? null, statusRef: b.statusRef ?? null, at: now });
      history.push({ target, kind, at: now, entityId: id, action: options.force ? 'forced' : 'detected', payloadHash: hash });
      if (!reverted) result.changed.push(id);
      else result.unchanged++;
    }
    const writes = other.length > 0 ? await failedOrExcluded(trx, deps, spec, other, built, now, result, history) : [];
    await writeBuilt(trx, deps.dialect, builtWrites);
    await writeRows(trx, deps.dialect, writes);
    await writeHistory(trx, deps.dialect, history);
  });
  return result;
}

const GONE: Built = { outcome: 'excluded', reason: 'gone' };

/** Whole-row rewrites for entities whose build failed or that left the sync. */
async function failedOrExcluded(
  trx: Db,
  deps: DetectDeps,
  spec: DetectSpec,
  ids: readonly number[],
  built: Map<number, Built>,
  now: number,
  result: DetectResult,
  history: HistoryEntry[],
): Promise<SyncRow[]> {
  const existing = await readRows(trx, deps.dialect, spec.target, spec.kind, ids);
  const base = { target: spec.target, kind: spec.kind, at: now };
  const writes: SyncRow[] = [];
  for (const id of ids) {
    const b = built.get(id) ?? GONE;
    const row = existing.get(id);
    if (b.outcome === 'excluded') {
      if (!row) continue;
      writes.push({ ...row, state: 'excluded', lastErrorCode: null, lastError: b.reason, updatedAt: now });
      history.push({ ...base, entityId: id, action: 'excluded', payloadHash: row.payloadHash, error: b.reason });
      result.excluded++;
    } else if (b.outcome === 'error') {
      const next = row ?? emptyRow(spec, id, now);
      writes.push({ ...next, state: 'error', attempts: next.attempts + 1, lastErrorCode: b.code, lastError: b.message, lastAttemptAt: now, updatedAt: now });
      history.push({ ...base, entityId: id, action: 'error', payloadHash: next.payloadHash, errorCode: b.code, error: b.message });
      result.errors++;
    }
  }
  return writes;
}

function emptyRow(spec: DetectSpec, entityId: number, now: number): SyncRow {
  return {
    target: spec.target,
    kind: spec.kind,
    entityId,
    remoteId: null,
    state: 'pending',
    payload: null,
    payloadHash: null,
    registeredPayload: null,
    registeredHash: null,
    dependsOn: null,
    statusRef: null,
    attempts: 0,
    lastErrorCode: null,
    lastError: null,
    changedAt: now,
    lastAttemptAt: null,
    registeredAt: null,
    updatedAt: now,
  };
}
