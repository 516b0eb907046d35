import type { Config } from '../../platform/config/index.js';
import type { Clock } from '../../platform/clock.js';
import type { Db, SqlDialect } from '../../platform/db/index.js';
import type { EventBus, NewEvent } from '../../platform/events/index.js';
import type { JobQueue } from '../../platform/jobs/index.js';
import type { Logger } from '../../platform/logging/index.js';
import type { ModuleDirectory } from './dispatch.js';
import type { FirstWrites } from './first-writes.js';
import type { FlowMetrics } from './metrics.js';
import type { FlowRegistry } from './registry.js';
import type { RunRow } from './store.js';

export type FlowsSettings = Config['flows'];

/** A run as it ended, with its final context (request and the latest output of every step). */
export interface EndedRun {
  run: RunRow;
  context: Record<string, unknown>;
}

export const STEP_TASK = 'flows.step';
export const RELEASE_TASK = 'flows.release';
export const PRUNE_TASK = 'flows.prune';

/** The payload of a step job: one activation of one step. */
export interface CommitWake {
  jobs?: boolean;
  events?: boolean;
}

export interface StepJob {
  runId: string;
  stepId: string;
  seq: number;
  /** How many error routes led here in a row; bounds error-route chains that would never end. */
  errorDepth?: number;
}

export const stepJobKey = (runId: string, stepId: string, seq: number) => `${runId}:${stepId}:${seq}`;

/** The error of a run whose context outgrew flows.contextBytes at `step`. */
export const contextTooLarge = (step: string, bytes: number, limit: number) => ({
  step,
  code: 'CONTEXT_TOO_LARGE',
  message: `the run context reached ${bytes} bytes; flows.contextBytes allows ${limit}`,
});

/** What the supervisor, intake and the API share; built once by createFlowRuntime. */
export interface RuntimeDeps {
  db: Db;
  dialect: SqlDialect;
  /** A transaction of a run's intake or step: grouped with others into one commit on SQLite (group-commit.ts). */
  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T>;
  clock: Clock;
  log: Logger;
  events: EventBus;
  jobs: JobQueue;
  settings: FlowsSettings;
  registry: FlowRegistry;
  modules: ModuleDirectory;
  /** After a commit: wake the job loop (work was queued) and/or the event dispatcher (events were published); both by default. */
  afterCommit(wake?: CommitWake): void;
  /** A run ended (in this process): wakes ?wait callers, handing them the outcome when it is known whole. */
  runEnded(runId: string, outcome?: EndedRun): void;
  /** Cancellation signals of runs with steps executing in this process. */
  cancels: RunCancels;
  /** Runs' first writes, batched into one statement each (where the database takes writes in a WITH clause). */
  firstWrites?: FirstWrites;
  /** Runs ended and module calls made here, for /metrics. */
  metrics: FlowMetrics;
}

/** A run's cancellation as its steps here see it. */
export interface RunCancel {
  /** True once the run was cancelled; asking makes no AbortController. */
  readonly aborted: boolean;
  /** The run's cancel signal, made on first use: a step that answers at once never needs one. */
  readonly signal: AbortSignal;
}

export interface RunCancels {
  acquire(runId: string): RunCancel;
  release(runId: string): void;
  /** Aborts the run's calls here; remembered a while, so a step of it that starts here soon after starts cancelled. */
  cancel(runId: string): void;
  /** True once cancel() was called for a run that still has steps executing here. */
  isCancelled(runId: string): boolean;
  /** The runs with steps executing here now. */
  running(): string[];
}

/**
 * How long, and for how many runs, a cancel is remembered. A step handed on within this process
 * (its run row taken from memory, not read back) may start after the cancel reached this process:
 * the memory makes it start cancelled instead of calling its module.
 */
const REMEMBER_CANCEL_MS = 60_000;
const REMEMBER_CANCELS = 10_000;

export function createRunCancels(now: () => number = Date.now): RunCancels {
  const live = new Map<string, LiveRun>();
  const recent = new Map<string, number>(); // run id → when cancelled, oldest first
  return {
    acquire(runId) {
      let entry = live.get(runId);
      if (!entry) {
        live.set(runId, (entry = new LiveRun()));
        if (recent.size > 0 && recent.has(runId)) entry.cancel();
      }
      entry.users++;
      return entry;
    },
    release(runId) {
      const entry = live.get(runId);
      if (entry && --entry.users <= 0) live.delete(runId);
    },
    cancel(runId) {
      live.get(runId)?.cancel();
      const at = now();
      recent.delete(runId);
      recent.set(runId, at);
      for (const [id, when] of recent) {
        if (recent.size <= REMEMBER_CANCELS && at - when < REMEMBER_CANCEL_MS) break;
        recent.delete(id);
      }
    },
    isCancelled: (runId) => live.get(runId)?.aborted ?? false,
    running: () => [...live.keys()],
  };
}

/** A run with steps executing here. Its AbortController is made only when a step asks for the signal (a few µs per run saved). */
class LiveRun implements RunCancel {
  users = 0;
  aborted = false;
  #controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  cancel(): void {
    this.aborted = true;
    this.#controller?.abort();
  }
}

/** Enqueues activations `firstSeq`, `firstSeq + 1`, … of `stepIds` inside the caller's transaction. */
export async function enqueueSteps(deps: RuntimeDeps, trx: Db, runId: string, stepIds: readonly string[], firstSeq: number, errorDepth = 0): Promise<void> {
  for (let i = 0; i < stepIds.length; i++) {
    const job: StepJob = { runId, stepId: stepIds[i]!, seq: firstSeq + i, ...(errorDepth > 0 ? { errorDepth } : {}) };
    await deps.jobs.enqueue(trx, STEP_TASK, job, { key: stepJobKey(runId, job.stepId, job.seq) });
  }
}

export type RunTopic = 'flow.run.started' | 'flow.run.succeeded' | 'flow.run.failed' | 'flow.run.cancelled';

export async function publishRun(deps: RuntimeDeps, trx: Db, topic: RunTopic, run: Pick<RunRow, 'id' | 'flow_id' | 'version'>, extra: Record<string, unknown> = {}): Promise<void> {
  await deps.events.publish(trx, runEvent(topic, run, extra));
}

export function runEvent(topic: RunTopic, run: Pick<RunRow, 'id' | 'flow_id' | 'version'>, extra: Record<string, unknown> = {}): NewEvent {
  return { topic, entityType: 'flow_run', entityId: run.id, payload: { runId: run.id, flowId: run.flow_id, version: run.version, ...extra } };
}
