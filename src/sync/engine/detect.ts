import type { Clock } from '../../platform/clock.js';
import type { Db, SqlDialect } from '../../platform/db/index.js';
import { canonicalJson, payloadHash } from './hash.js';
import { readRows, writeHistory, writeRows, type HistoryEntry, type SyncRow } from './store.js';

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
    const built = await spec.build(trx, unique);
    const existing = await readRows(trx, deps.dialect, spec.target, spec.kind, unique);
    const now = deps.clock.now();
    const writes: SyncRow[] = [];
    const history: HistoryEntry[] = [];
    const base = { target: spec.target, kind: spec.kind, at: now };
    for (const id of unique) {
      const b = built.get(id) ?? { outcome: 'excluded', reason: 'gone' };
      const row = existing.get(id);
      if (b.outcome === 'excluded') {
        if (row && row.state !== 'excluded') {
          writes.push({ ...row, state: 'excluded', lastErrorCode: null, lastError: b.reason, updatedAt: now });
          history.push({ ...base, entityId: id, action: 'excluded', payloadHash: row.payloadHash, error: b.reason });
          result.excluded++;
        } else result.unchanged++;
        continue;
      }
      if (b.outcome === 'error') {
        const next = row ?? emptyRow(spec, id, now);
        writes.push({ ...next, state: 'error', attempts: next.attempts + 1, lastErrorCode: b.code, lastError: b.message, lastAttemptAt: now, updatedAt: now });
        history.push({ ...base, entityId: id, action: 'error', payloadHash: next.payloadHash, errorCode: b.code, error: b.message });
        result.errors++;
        continue;
      }
      const payload = canonicalJson(b.record);
      const hash = payloadHash(payload);
      const dependsOn = b.dependsOn ?? null;
      const statusRef = b.statusRef ?? null;
      // A build error is fixed by a good build; a remote error is retried by the error registrar.
      const sameAsBuilt = row && row.payloadHash === hash && row.state !== 'excluded' && !(row.state === 'error' && row.lastErrorCode?.startsWith('BUILD_'));
      if (sameAsBuilt && !options.force) {
        result.unchanged++;
        continue;
      }
      const next = row ?? emptyRow(spec, id, now);
      const reverted = !options.force && row?.registeredHash === hash;
      writes.push({
        ...next,
        state: reverted ? 'registered' : 'pending',
        payload,
        payloadHash: hash,
        dependsOn,
        statusRef,
        lastErrorCode: reverted ? null : next.lastErrorCode,
        lastError: reverted ? null : next.lastError,
        changedAt: now,
        updatedAt: now,
      });
      history.push({ ...base, entityId: id, action: options.force ? 'forced' : 'detected', payloadHash: hash });
      if (!reverted) result.changed.push(id);
      else result.unchanged++;
    }
    await writeRows(trx, deps.dialect, writes);
    await writeHistory(trx, deps.dialect, history);
  });
  return result;
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
