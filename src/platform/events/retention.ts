import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { describeAge } from './liveness.js';
import * as store from './store.js';

export interface PrunerDeps {
  db: Db;
  log: Logger;
  clock: Clock;
  /** At most one warning per subscriber this often, however often pruning runs (default 1 h). */
  heldBackWarningEveryMs?: number;
  /** Events deleted per statement (default 1000): each batch is its own short write. */
  pruneBatchSize?: number;
}

export interface PruneOptions {
  /** Stops between batches once aborted (a stopping worker); what was deleted stays deleted. */
  signal?: AbortSignal;
}

export type Pruner = (olderThanMs: number, options?: PruneOptions) => Promise<number>;

export const DEFAULT_PRUNE_BATCH_SIZE = 1000;

/**
 * Deletes events older than the retention that every checkpoint has passed, in bounded batches, and
 * warns (now and then) about checkpoints that keep old events although no process has run them for
 * longer than the retention: usually a subscriber removed from the code, whose row nobody deleted.
 */
export function createPruner(deps: PrunerDeps): Pruner {
  const { db, log, clock } = deps;
  const every = deps.heldBackWarningEveryMs ?? 3_600_000;
  const batchSize = deps.pruneBatchSize ?? DEFAULT_PRUNE_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('pruneBatchSize must be a positive integer');
  const warnedAt = new Map<string, number>();

  return async function prune(olderThanMs, options = {}) {
    const now = clock.now();
    const cutoff = now - olderThanMs;
    let deleted = 0;
    let batches = 0;
    // A big backlog is deleted a batch at a time, never in one long transaction: SQLite has one
    // writer, and a PostgreSQL delete of millions of rows would hold its locks and WAL until the end.
    for (let afterId = 0; !options.signal?.aborted; ) {
      const batch = await store.pruneEventBatch(db, { createdBefore: cutoff, afterId, limit: batchSize });
      if (batch.lastId === undefined) break; // nothing (more) to delete
      deleted += batch.deleted;
      batches++;
      if (batch.deleted < batchSize) break;
      afterId = batch.lastId;
      await nextTurn(); // let requests and other writers in between batches
    }
    if (deleted > 0) {
      log.info({ pruned: deleted, batches, olderThanMs, createdBefore: new Date(cutoff).toISOString() }, `pruned ${deleted} delivered events older than ${describeAge(olderThanMs)}`);
    }
    await warnAboutHolders(now, cutoff);
    return deleted;
  };

  async function warnAboutHolders(now: number, cutoff: number): Promise<void> {
    const holders = await store.staleHolders(db, cutoff, cutoff);
    for (const name of warnedAt.keys()) if (!holders.some((h) => h.name === name)) warnedAt.delete(name);
    for (const h of holders) {
      if (now - (warnedAt.get(h.name) ?? -Infinity) < every) continue;
      warnedAt.set(h.name, now);
      const forget = `conveyor events forget ${h.name}`;
      log.warn(
        { subscriber: h.name, lastEventId: h.lastEventId, lastSeenAt: h.seenAt, lastSeenBy: h.seenBy, forget },
        `event pruning is held back by subscriber "${h.name}", ${h.seenAt > 0 ? `not run by any process for ${describeAge(now - h.seenAt)}` : 'not known to be run by any process'}: ` +
          `events after ${h.lastEventId} are kept for it. If it was removed from the code, forget it: ${forget} (or DELETE /event-subscribers/${encodeURIComponent(h.name)})`,
      );
    }
  }
}
