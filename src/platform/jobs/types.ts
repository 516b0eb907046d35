import type { RawBuilder } from 'kysely';
import type { Db } from '../db/index.js';

export interface JobInfo {
  id: number;
  task: string;
  key: string | null;
  attempt: number;
  maxAttempts: number;
  /** Aborted when the worker is stopping: long handlers should wrap up (a repeating one returns early). */
  signal: AbortSignal;
  /**
   * Completes this job inside the caller's transaction (so the job ends exactly when the work it did is
   * committed). False when the job is no longer this worker's (its lease lapsed): roll back then. A
   * handler that committed it returns `{ completedInTransaction: true }`.
   */
  completeIn(trx: Db): Promise<boolean>;
  /**
   * Enqueues a job inside the caller's transaction, already claimed by this worker, to run right after
   * this one in the same slot (return it as `next`): no claim round trip. Null when a live job holds
   * the key (that job runs the usual way). If this process dies, the lease lapses and any worker runs it.
   */
  enqueueNext(trx: Db, task: string, payload: unknown, options?: EnqueueOptions): Promise<ClaimedJob | null>;
  /**
   * completeIn's statement, to embed in a larger one: it returns a row when the job was still this
   * worker's. With `onlyIf` (PostgreSQL only) it completes the job only where that condition holds.
   */
  completionStatement(onlyIf?: RawBuilder<unknown>): RawBuilder<unknown>;
  /** enqueueNext's insert, to embed in a larger statement; with `onlyIf` (PostgreSQL only) only where that holds. */
  nextStatement(task: string, payload: unknown, options?: EnqueueOptions, onlyIf?: RawBuilder<unknown>): JobInsertStatement;
}

/**
 * A job insert to embed in the caller's own statement (a PostgreSQL WITH clause): several writes in one
 * round trip. The caller runs it inside its transaction and hands back the row it returned.
 */
export interface JobInsertStatement {
  /** The insert, `returning *`; no row when a live job holds the key. */
  readonly sql: RawBuilder<unknown>;
  /** The row the insert returned (undefined if none): the claimed job, as enqueueClaimed/enqueueNext give it. */
  adopt(row: unknown): ClaimedJob | null;
}

/** A job enqueued already claimed (enqueueNext, enqueueClaimed): opaque, run by the queue when handed back. */
export interface ClaimedJob {
  readonly claimedJobId: number;
}

/** A handler that completed its job in its own transaction (JobInfo.completeIn), maybe handing on the next. */
export interface TaskCompleted {
  completedInTransaction: true;
  next?: ClaimedJob;
}

/**
 * A handler that returns `{ repeatAfterMs }` stays in the queue under the same key and runs again after
 * that delay (a periodic task with one live instance across all processes); otherwise it is done.
 */
export type TaskHandler = (payload: unknown, job: JobInfo) => Promise<void | TaskRepeat | TaskCompleted>;

export interface TaskRepeat {
  repeatAfterMs: number;
}

export interface TaskOptions {
  maxAttempts?: number;
  /** A running job whose handler exceeds this is failed and retried. */
  timeoutMs?: number;
  /**
   * Set when something waits on each queued job of this task (e.g. a flow run on its next step), so an
   * operator must not delete one: the refusal says what to do instead. Dead jobs may still be deleted.
   */
  keepQueued?: string;
}

export interface EnqueueOptions {
  /** Idempotency: while a job with this key is queued or running, enqueuing again does nothing. */
  key?: string;
  runAt?: number;
  delayMs?: number;
  maxAttempts?: number;
  priority?: number;
}

export interface JobQueue {
  defineTask(name: string, handler: TaskHandler, options?: TaskOptions): void;
  /** Enqueue inside the caller's transaction (pass the transaction), or on its own (pass ctx.db). */
  enqueue(trx: Db, task: string, payload: unknown, options?: EnqueueOptions): Promise<{ id: number | null; enqueued: boolean }>;
  /**
   * Enqueues inside the caller's transaction a job already claimed by this process, for the caller to
   * start with runClaimed() right after its commit: no claim round trip, no poll. Null when this process
   * runs no workers (the job is then enqueued the usual way) or a live job holds the key.
   */
  enqueueClaimed(trx: Db, task: string, payload: unknown, options?: EnqueueOptions): Promise<ClaimedJob | null>;
  /** enqueueClaimed's insert, to embed in a larger statement (when this process runs no workers: a plain enqueue, adopted as null). */
  claimedStatement(task: string, payload: unknown, options?: EnqueueOptions): JobInsertStatement;
  /**
   * Starts a job from enqueueClaimed in a free slot, or in the next one to free up (before any job claimed
   * from the queue; its lease is renewed while it waits). If this process dies first, its lease lapses and any worker runs it.
   */
  runClaimed(job: ClaimedJob): void;
  /** True while this process runs workers (between start() and stop()). */
  isRunning(): boolean;
  /**
   * Brings the queued job holding `key` forward so it runs no later than `runAt` (inside the caller's
   * transaction, or on its own). A periodic job that repeats on a long delay can be woken this way
   * when something it should handle sooner arrives. False when no queued job holds the key.
   */
  hasten(trx: Db, key: string, runAt: number): Promise<boolean>;
  /** A cron schedule (croner syntax, UTC) that enqueues `task` once per tick across all processes. */
  schedule(name: string, cron: string, task: string, payload?: unknown): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}
