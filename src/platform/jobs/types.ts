import type { Db } from '../db/index.js';

export interface JobInfo {
  id: number;
  task: string;
  key: string | null;
  attempt: number;
  maxAttempts: number;
  /** Aborted when the worker is stopping: long handlers should wrap up (a repeating one returns early). */
  signal: AbortSignal;
}

/**
 * A handler that returns `{ repeatAfterMs }` stays in the queue under the same key and runs again after
 * that delay (a periodic task with one live instance across all processes); otherwise it is done.
 */
export type TaskHandler = (payload: unknown, job: JobInfo) => Promise<void | TaskRepeat>;

export interface TaskRepeat {
  repeatAfterMs: number;
}

export interface TaskOptions {
  maxAttempts?: number;
  /** A running job whose handler exceeds this is failed and retried. */
  timeoutMs?: number;
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
