import type { Db } from '../../platform/db/index.js';
import type { TaskRepeat } from '../../platform/jobs/index.js';
import type { Flow } from '../definition/flow.js';
import { enqueueSteps, publishRun, type RuntimeDeps } from './deps.js';
import { newRunId } from './ids.js';
import { canonicalJson, sha256, toJson } from './json.js';
import type { FlowEntry } from './registry.js';
import * as store from './store.js';

export interface Accepted {
  runId: string;
  state: store.RunState;
  /** True when an earlier request with the same Idempotency-Key made this run. */
  duplicate: boolean;
}

export class IntakeConflict extends Error {}

/** Release pace of buffered runs when nothing better is known. */
const RELEASE_EVERY_MS = 1000;

/**
 * Intake: a request becomes a run. The run row and the jobs of its first steps are written in ONE
 * transaction, so a worker can never pick up a job whose run is not committed, and an accepted request
 * can never be lost. Rate-limited flows start at once while under their limit; the rest wait as queued
 * runs, in order, and the release task starts them as the window allows.
 */
export function createIntake(deps: RuntimeDeps) {
  const { db, clock } = deps;

  async function accept(entry: FlowEntry, request: unknown, idempotencyKey?: string): Promise<Accepted> {
    const { flow, version } = entry;
    const json = toJson(request);
    const hash = sha256(canonicalJson(request));
    if (idempotencyKey !== undefined) {
      const earlier = await store.findRunByKey(db, flow.id, idempotencyKey);
      if (earlier) return sameRequest(earlier, hash);
    }
    const runId = newRunId(clock.now());
    try {
      const state = await inTransaction(async (trx) => {
        const now = clock.now();
        const row = {
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
        };
        if (flow.intake.mode === 'rate') {
          await deps.dialect.lockForTransaction(trx, `flows.rate:${flow.id}`);
          if (!(await hasRoom(trx, flow, now)) || (await store.hasQueuedRuns(trx, flow.id))) {
            await store.insertRun(trx, row);
            return 'queued';
          }
        }
        await store.insertRun(trx, { ...row, state: 'running', started_at: now, live_branches: flow.start.length, last_seq: flow.start.length });
        await enqueueSteps(deps, trx, runId, flow.start, 1);
        await publishRun(deps, trx, 'flow.run.started', row);
        return 'running';
      });
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

  async function hasRoom(trx: Db, flow: Flow, now: number): Promise<boolean> {
    const { limit = 1, perMs = 1 } = flow.intake;
    return (await store.countStartedSince(trx, flow.id, now - perMs + 1)).n < limit;
  }

  /** The periodic release task: starts buffered runs of every rate-limited flow as far as each window allows. */
  async function releaseQueued(): Promise<TaskRepeat> {
    let wakeIn = RELEASE_EVERY_MS;
    for (const { flow } of deps.registry.list()) {
      if (flow.intake.mode !== 'rate') continue;
      const { limit = 1, perMs = 1 } = flow.intake;
      await inTransaction(async (trx) => {
        await deps.dialect.lockForTransaction(trx, `flows.rate:${flow.id}`);
        const now = clock.now();
        const window = await store.countStartedSince(trx, flow.id, now - perMs + 1);
        const runs = await store.oldestQueuedRuns(trx, flow.id, limit - window.n);
        for (const run of runs) {
          // A buffered run keeps the version it was accepted on.
          const start = (await deps.registry.forRun(run.flow_id, run.version)).start;
          if (!(await store.beginQueuedRun(trx, run.id, start.length, now))) continue;
          await enqueueSteps(deps, trx, run.id, start, 1);
          await publishRun(deps, trx, 'flow.run.started', run);
        }
        if (runs.length === limit - window.n && window.oldest !== null && (await store.hasQueuedRuns(trx, flow.id))) {
          wakeIn = Math.min(wakeIn, Math.max(10, window.oldest + perMs - now));
        }
      });
    }
    return { repeatAfterMs: wakeIn };
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

  /** Cancels a queued or running run; jobs left behind end quietly, in-process module calls are aborted. */
  async function cancel(run: store.RunRow): Promise<boolean> {
    let done = false;
    await inTransaction(async (trx) => {
      done = await store.endRun(trx, run.id, ['queued', 'running'], 'cancelled', clock.now(), { code: 'CANCELLED', message: 'cancelled through the API' });
      if (done) await publishRun(deps, trx, 'flow.run.cancelled', run, { state: 'cancelled' });
      return 'running';
    });
    if (done) {
      deps.cancels.cancel(run.id);
      deps.runEnded(run.id);
    }
    return done;
  }

  async function inTransaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    const result = await db.transaction().execute(work);
    deps.afterCommit();
    return result;
  }

  return { accept, releaseQueued, replay, cancel };
}

export type Intake = ReturnType<typeof createIntake>;
