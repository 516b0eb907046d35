import type { Db } from '../../platform/db/index.js';
import type { ClaimedJob, TaskRepeat } from '../../platform/jobs/index.js';
import { REQUEST_ROOT } from '../conditions/compile.js';
import { announceCancel } from './cancel-broadcast.js';
import { admitsNow, intakeLock, releaseBuffered } from './buffer.js';
import { enqueueSteps, publishRun, RELEASE_TASK, runEvent, STEP_TASK, stepJobKey, type CommitWake, type EndedRun, type RuntimeDeps, type StepJob } from './deps.js';
import { newRunId } from './ids.js';
import { canonicalJson, sha256, toJson } from './json.js';
import type { FlowEntry } from './registry.js';
import type { SafeStart } from './safe-start.js';
import * as store from './store.js';
import type { RunContext } from './step-try.js';

export interface Accepted {
  runId: string;
  state: store.RunState;
  /** True when an earlier request with the same Idempotency-Key made this run. */
  duplicate: boolean;
  /** The run ended before it was first written (safe steps first): its outcome. */
  ended?: EndedRun;
}

export interface AcceptOptions {
  /** The caller waits for the outcome (?wait): the flow's first safe steps may run before the run is written. */
  waits?: boolean;
}

export class IntakeConflict extends Error {}

/** The release task looks at every buffered flow at least this often (accepts wake it sooner when due). */
const RELEASE_EVERY_MS = 1000;

/**
 * Intake: a request becomes a run. The run row and the jobs of its first steps are written in ONE
 * transaction, so a worker can never pick up a job whose run is not committed, and an accepted request
 * can never be lost. Rate-limited flows start at once while under their limit; the rest, and every
 * request of a batch or cron flow, wait as queued runs, in order, until their policy starts them (see
 * buffer.ts).
 */
export function createIntake(deps: RuntimeDeps, startClaimed: (run: store.RunRow, job: ClaimedJob, context: RunContext) => void, safeStart?: SafeStart) {
  const { db, clock } = deps;

  async function accept(entry: FlowEntry, request: unknown, idempotencyKey?: string, options: AcceptOptions = {}): Promise<Accepted> {
    const { flow, version } = entry;
    const json = toJson(request);
    // Only an Idempotency-Key's repeat compares bodies: a run without a key needs no hash.
    const hash = idempotencyKey === undefined ? '' : sha256(canonicalJson(request));
    if (idempotencyKey !== undefined) {
      const earlier = await store.findRunByKey(db, flow.id, idempotencyKey);
      if (earlier) return sameRequest(earlier, hash);
    }
    const runId = newRunId(clock.now());
    // The first step of a run that starts at once is enqueued claimed by this process and started right
    // after the commit, with the request as its context: no claim, no read (if this process dies first,
    // its lease lapses and any worker runs it).
    let claimed: ClaimedJob | null = null;
    let startedRun: store.RunRow | undefined;
    const newRun = (now: number) => ({
      id: runId,
      flow_id: flow.id,
      version,
      state: 'queued' as store.RunState,
      request: json.text,
      request_hash: hash,
      idempotency_key: idempotencyKey ?? null,
      replay_of: null,
      replay_from: null,
      live_branches: 0,
      last_seq: 0,
      context_bytes: json.bytes,
      created_at: now,
      started_at: null,
    });
    const startedAs = (row: store.NewRun): store.RunRow => ({ ...row, state: 'running', started_at: row.created_at, live_branches: flow.start.length, last_seq: flow.start.length, error: null, finished_at: null });
    try {
      if (options.waits && safeStart?.applies(flow)) {
        // No step numbered yet: the safe steps take seq 1, 2, … as they run.
        const ended = await safeStart.start(flow, { ...startedAs(newRun(clock.now())), live_branches: 1, last_seq: 0 });
        return { runId, state: ended?.run.state ?? 'running', duplicate: false, ...(ended ? { ended } : {}) };
      }
      if (deps.firstWrites && flow.intake.mode === 'immediate' && flow.start.length === 1) {
        // One statement, no transaction: the run, its started event and its first job, claimed.
        const run = startedAs(newRun(clock.now()));
        const stepId = flow.start[0]!;
        const job = deps.jobs.claimedStatement(STEP_TASK, { runId, stepId, seq: 1 } satisfies StepJob, { key: stepJobKey(runId, stepId, 1) });
        claimed = await deps.firstWrites.write({ run, records: [], events: [runEvent('flow.run.started', run)], job });
        deps.afterCommit({ jobs: claimed === null });
        if (claimed) startClaimed(run, claimed, { [REQUEST_ROOT]: JSON.parse(json.text) as unknown });
        return { runId, state: 'running', duplicate: false };
      }
      const state = await inTransaction(async (trx) => {
        const now = clock.now();
        const row = newRun(now);
        if (flow.intake.mode !== 'immediate') {
          await deps.dialect.lockForTransaction(trx, intakeLock(flow));
          if (!(await admitsNow(trx, flow, now))) {
            await store.insertRun(trx, row);
            // A request that completes a batch starts it at once; otherwise the release task is
            // woken for when this flow's buffer is next due (a batch's everyMs, a cron tick).
            const { started, wakeAt } = await releaseBuffered(deps, trx, flow, now);
            if (wakeAt !== null) await deps.jobs.hasten(trx, RELEASE_TASK, wakeAt);
            return started.includes(runId) ? 'running' : 'queued';
          }
        }
        startedRun = startedAs(row);
        await store.insertRun(trx, startedRun);
        const [first, ...rest] = flow.start;
        claimed = await deps.jobs.enqueueClaimed(trx, STEP_TASK, { runId, stepId: first!, seq: 1 } satisfies StepJob, { key: stepJobKey(runId, first!, 1) });
        await enqueueSteps(deps, trx, runId, claimed ? rest : flow.start, claimed ? 2 : 1);
        await publishRun(deps, trx, 'flow.run.started', row);
        return 'running';
      }, () => ({ jobs: claimed === null || flow.start.length > 1 }));
      if (claimed && startedRun) startClaimed(startedRun, claimed, { [REQUEST_ROOT]: JSON.parse(json.text) as unknown });
      return { runId, state, duplicate: false };
    } catch (err) {
      // Two requests with one key at the same moment: the loser answers with the winner's run.
      if (idempotencyKey !== undefined && deps.dialect.isUniqueViolation(err)) {
        const earlier = await store.findRunByKey(db, flow.id, idempotencyKey);
        if (earlier) return sameRequest(earlier, hash);
      }
      throw err;
    }
  }

  function sameRequest(earlier: store.RunRow, hash: string): Accepted {
    if (earlier.request_hash !== hash) {
      throw new IntakeConflict(`Idempotency-Key was used for run ${earlier.id} with a different request body; use a new key for a new request`);
    }
    return { runId: earlier.id, state: earlier.state, duplicate: true };
  }

  /** The periodic release task: starts buffered runs of every rate, batch and cron flow as each policy allows. */
  async function releaseQueued(): Promise<TaskRepeat> {
    let wakeAt = clock.now() + RELEASE_EVERY_MS;
    for (const { flow } of deps.registry.list()) {
      if (flow.intake.mode === 'immediate') continue;
      const released = await inTransaction(async (trx) => {
        await deps.dialect.lockForTransaction(trx, intakeLock(flow));
        return releaseBuffered(deps, trx, flow, clock.now());
      });
      if (released.wakeAt !== null) wakeAt = Math.min(wakeAt, released.wakeAt);
    }
    return { repeatAfterMs: Math.max(10, wakeAt - clock.now()) };
  }

  /**
   * A new run of the flow's current version from `fromStep`, linked to the old run. The old run's latest
   * outputs of the steps that finished before `fromStep` first finished are copied as `reused` records
   * (or all of them, if `fromStep` never ran), so the context is as it was when `fromStep` ran.
   */
  async function replay(entry: FlowEntry, old: store.RunRow, fromStep: string): Promise<Accepted> {
    const firstOfStep = await store.firstRecordOf(db, old.id, fromStep);
    const reused = (await store.contextRows(db, old.id)).filter((r) => r.state !== 'failed' && r.step_id !== fromStep && (firstOfStep === undefined || r.id < firstOfStep));
    const runId = newRunId(clock.now());
    await inTransaction(async (trx) => {
      const now = clock.now();
      const seqAfterReused = reused.length + 1;
      const run = {
        id: runId,
        flow_id: entry.flow.id,
        version: entry.version,
        state: 'running' as store.RunState,
        request: old.request,
        request_hash: old.request_hash,
        idempotency_key: null,
        replay_of: old.id,
        replay_from: fromStep,
        live_branches: 1,
        last_seq: seqAfterReused,
        context_bytes: Buffer.byteLength(old.request) + reused.reduce((n, r) => n + r.output_bytes, 0),
        created_at: now,
        started_at: now,
      };
      await store.insertRun(trx, run);
      for (const [i, r] of reused.entries()) {
        await store.insertStep(trx, {
          run_id: runId,
          step_id: r.step_id,
          seq: i + 1,
          attempt: 1,
          state: 'reused',
          module: entry.flow.steps.get(r.step_id)?.subsystem ?? '(removed)',
          input: JSON.stringify({ $reusedFrom: old.id }),
          output: r.output,
          output_bytes: r.output_bytes,
          error: null,
          wake_at: null,
          started_at: now,
          finished_at: now,
        });
      }
      await enqueueSteps(deps, trx, runId, [fromStep], seqAfterReused);
      await publishRun(deps, trx, 'flow.run.started', run, { replayOf: old.id, fromStep });
      return 'running';
    });
    return { runId, state: 'running', duplicate: false };
  }

  /** Cancels a queued or running run; jobs left behind end quietly, module calls under way are aborted in every process. */
  async function cancel(run: store.RunRow, by = 'through the API'): Promise<boolean> {
    let done = false;
    await inTransaction(async (trx) => {
      done = await store.endRun(trx, run.id, ['queued', 'running'], 'cancelled', clock.now(), { code: 'CANCELLED', message: `cancelled ${by}` });
      if (done) {
        await publishRun(deps, trx, 'flow.run.cancelled', run, { state: 'cancelled' });
        await announceCancel(trx, deps.dialect, run.id); // heard by the other processes once this commits
      }
      return 'running';
    });
    if (done) {
      deps.metrics.runEnded(run.flow_id, 'cancelled');
      deps.cancels.cancel(run.id);
      deps.runEnded(run.id);
    }
    return done;
  }

  async function inTransaction<T>(work: (trx: Db) => Promise<T>, wake?: () => CommitWake): Promise<T> {
    const result = await deps.transaction(work);
    deps.afterCommit(wake?.());
    return result;
  }

  return { accept, releaseQueued, replay, cancel };
}

export type Intake = ReturnType<typeof createIntake>;
