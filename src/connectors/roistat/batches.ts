import { RoistatError, RoistatRequestError } from './errors.js';

/** Roistat does not document a maximum batch size; 100 is what working integrations use. */
export const DEFAULT_BATCH_SIZE = 100;

export function inBatches<T>(records: readonly T[], size = DEFAULT_BATCH_SIZE): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('Batch size must be a positive integer');
  const out: T[][] = [];
  for (let i = 0; i < records.length; i += size) out.push(records.slice(i, i + size));
  return out;
}

export type RecordResult<T> =
  | { record: T; ok: true }
  /** `sent: false` means the record was never tried (an outage or config error stopped the run). */
  | { record: T; ok: false; sent: boolean; error: RoistatError };

export interface BulkResult<T, R> {
  /** One entry per input record, in input order. */
  results: RecordResult<T>[];
  /** Every successful reply (e.g. add-orders counters), in send order. */
  replies: R[];
  /** Number of HTTP calls made, bisection included. */
  calls: number;
}

/**
 * Sends records in batches. Roistat gives no per-record errors (a whole batch fails on one bad record),
 * so a batch rejected with a RoistatRequestError is split in halves until the bad record(s) are alone;
 * every good record still goes through. Any other error (outage, rate limit, configuration) is not a
 * record's fault: sending stops and the unsent records are reported with that error, to retry later.
 */
export async function sendWithBisection<T, R>(
  records: readonly T[],
  send: (batch: T[]) => Promise<R>,
  opts: { batchSize?: number } = {},
): Promise<BulkResult<T, R>> {
  const results = new Map<T, RecordResult<T>>();
  const replies: R[] = [];
  let calls = 0;
  let stopped: RoistatError | undefined;

  async function attempt(batch: T[]): Promise<void> {
    if (stopped) {
      for (const record of batch) results.set(record, { record, ok: false, sent: false, error: stopped });
      return;
    }
    calls++;
    try {
      replies.push(await send(batch));
      for (const record of batch) results.set(record, { record, ok: true });
    } catch (error) {
      if (!(error instanceof RoistatError)) throw error; // a bug, not a Roistat answer
      if (!(error instanceof RoistatRequestError)) {
        stopped = error;
        for (const record of batch) results.set(record, { record, ok: false, sent: false, error });
        return;
      }
      if (batch.length === 1) {
        results.set(batch[0], { record: batch[0], ok: false, sent: true, error });
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await attempt(batch.slice(0, half));
      await attempt(batch.slice(half));
    }
  }

  for (const batch of inBatches(records, opts.batchSize)) await attempt(batch);
  // Map keyed by record object: duplicates of one object share a result, which is what the caller sent.
  return { results: records.map((r) => results.get(r)!), replies, calls };
}
