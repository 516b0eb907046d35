import type { Db } from '../../platform/db/index.js';
import type { JobInfo, TaskCompleted, TaskRepeat } from '../../platform/jobs/index.js';
import { evaluateRoute } from '../conditions/evaluate.js';
import { REQUEST_ROOT } from '../conditions/compile.js';
import type { Flow, FlowStep } from '../definition/flow.js';
import { publishRun, type RuntimeDeps, type StepJob } from './deps.js';
import { cappedJson, parseJson, toJson } from './json.js';
import { isDeferral } from './local.js';
import type { StepError } from './module.js';
import { FatalRunError } from './registry.js';
import { plainSuccess, tryStep, type RunContext, type Tried } from './step-try.js';
import * as store from './store.js';
import { createWarmStore } from './warm.js';
import { Abandon, createCommitWriters } from './commit.js';

const MAX_ERROR_CHAIN = 5;
const MAX_BACKOFF_MS = 86_400_000;


export type { RunContext } from './step-try.js';

/**
 * The supervisor: runs one activation of one step (a durable job keyed `<run>:<step>:<seq>`). It reads
 * the run context, dispatches to the module, and in ONE transaction records the attempt, enqueues what
 * the route says comes next and updates the run. A finished activation is never dispatched again: its
 * record is checked first, and the unique (run, seq, attempt) record refuses a second writer.
 */
export function createSupervisor(deps: RuntimeDeps) {
  const { db, clock, log } = deps;
  const writers = createCommitWriters(deps);
  const { transaction } = writers;

  async function handleStepJob(payload: unknown, job: JobInfo): Promise<void | TaskRepeat | TaskCompleted> {
    const work = payload as StepJob;
    // Held for the whole activation (its stretch included): each step's call shares one cancel signal.
    deps.cancels.acquire(work.runId);
    try {
      return await runActivation(work, job);
    } catch (err) {
      // Out of job attempts (or a run that can never go on): the run is dead-lettered, and listed as such.
      if (err instanceof FatalRunError || job.attempt >= job.maxAttempts) {
        await markDead(work.runId, err);
        return;
      }
      throw err;
    } finally {
      deps.cancels.release(work.runId);
    }
  }

  async function runActivation(work: StepJob, job: JobInfo): Promise<void | TaskRepeat | TaskCompleted> {
    // A step this process just handed on to itself (or accepted): no earlier attempt can exist, and the
    // run row and context are as this process committed them (with one live branch nobody else writes).
    const handed = takeWarm(work.runId, work.seq);
    const run = handed?.run ?? (await store.readRun(db, work.runId));
    if (!run || run.state !== 'running') return; // cancelled, failed by another branch, or pruned
    // A handed-on step's run row comes from memory: a cancel this process has heard of since is checked here.
    if (deps.cancels.isCancelled(run.id)) return;
    const flow = await deps.registry.forRun(run.flow_id, run.version);
    const step = flow.steps.get(work.stepId);
    if (!step) throw new FatalRunError(`flow ${flow.id} version ${run.version} has no step "${work.stepId}"`);

    const last = handed ? undefined : await store.lastAttempt(db, run.id, work.seq);
    if (last && (last.state === 'succeeded' || last.state === 'failed' || last.state === 'reused')) return; // done before a crash
    const now = clock.now();
    if (last && (last.state === 'waiting' || last.state === 'retrying') && last.wake_at !== null && last.wake_at > now) {
      return { repeatAfterMs: last.wake_at - now };
    }
    if (last?.state === 'waiting') {
      const context = await loadContext(run);
      const output = parseJson(last.output);
      return complete(flow, run, step, work, job, { output, bytes: last.output_bytes, context }, (trx) => recordWaitingDone(trx, last.id));
    }

    const attempt = last ? last.attempt + 1 : 1;
    const context = handed?.context ?? (await loadContext(run));
    const tried = handed?.tried ?? (await tryStep(deps, flow, run, step, work.seq, attempt, context));
    return settle(flow, run, step, work, job, tried, context);
  }

  /** Records what one try of a step came to and moves the run on: success, a durable wait, a retry or a failure. */
  async function settle(flow: Flow, run: store.RunRow, step: FlowStep, work: StepJob, job: JobInfo, tried: Tried, context: RunContext): Promise<void | TaskRepeat | TaskCompleted> {
    const { base, outcome } = tried;
    if (outcome.ok) {
      const deferral = isDeferral(outcome.output) ? outcome.output : undefined;
      const output = deferral ? deferral.output : outcome.output;
      const json = toJson(output);
      if (json.bytes > deps.settings.stepOutputBytes) {
        const error = { code: 'STEP_OUTPUT_TOO_LARGE', message: `the output is ${json.bytes} bytes; flows.stepOutputBytes allows ${deps.settings.stepOutputBytes}`, retryable: false };
        return failed(flow, run, step, work, job, base, error, context);
      }
      if (deferral) {
        const wakeAt = clock.now() + deferral.delayMs;
        await insertOrAbandon(db, { ...base, state: 'waiting', output: json.text, output_bytes: json.bytes, wake_at: wakeAt, finished_at: null });
        return { repeatAfterMs: deferral.delayMs };
      }
      return complete(flow, run, step, work, job, { output, bytes: json.bytes, context }, { ...base, output: json.text, output_bytes: json.bytes });
    }
    return failed(flow, run, step, work, job, base, outcome.error, context);
  }

  /** Reads what the conditions and inputs may refer to: the request and the latest output of each step. */
  async function loadContext(run: store.RunRow): Promise<RunContext> {
    const context: RunContext = { [REQUEST_ROOT]: JSON.parse(run.request) };
    for (const row of await store.contextRows(db, run.id)) {
      context[row.step_id] = row.state === 'failed' ? { error: parseJson(row.error) } : parseJson(row.output);
    }
    return context;
  }

  async function failed(
    flow: Flow,
    run: store.RunRow,
    step: FlowStep,
    work: StepJob,
    job: JobInfo,
    base: store.NewStep,
    error: StepError,
    context: RunContext,
  ): Promise<void | TaskRepeat | TaskCompleted> {
    const errorJson = cappedJson(error, deps.settings.historyBytes);
    const attempts = step.retry?.attempts ?? 1;
    if (error.retryable && base.attempt < attempts) {
      const delay = Math.min(MAX_BACKOFF_MS, (step.retry?.backoffMs ?? 0) * 2 ** (base.attempt - 1));
      await insertOrAbandon(db, { ...base, state: 'retrying', error: errorJson, wake_at: clock.now() + delay });
      log.debug({ runId: run.id, step: step.id, attempt: base.attempt, retryInMs: delay, code: error.code }, 'flow step failed, will retry');
      return { repeatAfterMs: delay };
    }
    const depth = work.errorDepth ?? 0;
    const errorRoute = step.onError !== undefined && step.onError !== step.id && depth < MAX_ERROR_CHAIN ? step.onError : undefined;
    const record = (trx: Db) => store.insertStep(trx, { ...base, state: 'failed', error: errorJson });
    if (errorRoute) {
      // The branch goes on at the error step, which sees this step as { error } in the context.
      return complete(flow, run, step, { ...work, errorDepth: depth + 1 }, job, { output: { error }, bytes: 0, context, route: [errorRoute] }, record);
    }
    const runError = { step: step.id, code: error.code, message: error.message };
    const committed = await transaction(async (trx) => {
      await record(trx);
      if (!(await store.endRun(trx, run.id, ['running'], 'failed', clock.now(), runError))) throw new Abandon();
      await publishRun(deps, trx, 'flow.run.failed', run, { state: 'failed', error: runError });
    });
    if (!committed) return recordIfCancelled(run.id, record, []);
    log.info({ runId: run.id, flow: run.flow_id, step: step.id, code: error.code }, 'flow run failed');
    deps.metrics.runEnded(run.flow_id, 'failed');
    deps.runEnded(run.id);
  }

  /**
   * Records the finished activation and moves the run on in one write (commit.ts: one statement where
   * the database and the run's shape allow, else one transaction): the next activations are
   * enqueued with it, the branch count changes by (next − 1), and at zero the run has succeeded. The
   * step job itself is completed in that same transaction, and the first next activation is enqueued
   * already claimed by this worker, which runs it right after: a run's steps follow one another without
   * a claim round trip each (the others go to the queue and run in parallel on other slots).
   *
   * A run with one live branch first runs on through the steps that follow (a stretch, bounded by
   * flows.stepCommit) and records them all in this one commit. Their seq numbers are fixed before their
   * calls (nobody else can take any), so after a crash the stretch runs again with the same idempotency
   * keys. A stretch step that does not simply succeed ends it: it is handed on with its outcome, and
   * recorded the usual way (retry, wait, error route, failure).
   */
  async function complete(
    flow: Flow,
    run: store.RunRow,
    step: FlowStep,
    work: StepJob,
    job: JobInfo,
    done: { output: unknown; bytes: number; context: RunContext; route?: string[] },
    /** This activation's history: a record to insert, or the write that records it. */
    record: store.NewStep | ((trx: Db) => Promise<unknown>),
  ): Promise<TaskCompleted | undefined> {
    const stretch = done.route ? undefined : await runStretch(flow, run, step, done);
    const context = stretch?.context ?? { ...done.context, [step.id]: done.output };
    const next = done.route ?? stretch?.next ?? evaluateRoute(step, context);
    const chained = stretch?.records ?? [];
    const bytes = done.bytes + (stretch?.bytes ?? 0);
    const committed = await writers.commit({ run, stepId: step.id, work, job, record, chained, next, bytes, errorRoute: done.route !== undefined });
    if (!committed) {
      const stopped = stretch?.stoppedAt;
      const refused: store.NewStep[] = stopped && !stopped.outcome.ok ? [{ ...stopped.base, state: 'failed', error: cappedJson(stopped.outcome.error, deps.settings.historyBytes) }] : [];
      await recordIfCancelled(run.id, record, [...chained, ...refused]);
      return undefined; // rolled back: the job was not completed here; the queue completes it as usual
    }
    const finalContext = () => stretch?.context ?? { ...done.context, [step.id]: jsonCopy(done.output) };
    const after = { ...run, ...committed.counters };
    if (committed.ended) {
      log.debug({ runId: run.id, flow: flow.id, state: committed.ended }, 'flow run ended');
      deps.metrics.runEnded(flow.id, committed.ended);
      // The only live branch holds every output there is: its context is the run's final one.
      const whole = committed.ended === 'succeeded' && run.live_branches === 1 && !done.route;
      deps.runEnded(run.id, whole ? { run: { ...after, state: 'succeeded', live_branches: 0, finished_at: committed.endedAt, error: null }, context: finalContext() } : undefined);
    }
    // With one live branch nobody else can add outputs before the handed-on step reads them, so the
    // context it would load is this one (outputs as stored: JSON round-tripped). An error route's
    // context keeps the error as recorded (possibly cut), so it is loaded as usual.
    if (committed.handOn && committed.singleBranch && !done.route) {
      putWarm(run.id, committed.handOnSeq, { run: after, context: finalContext(), tried: stretch?.stoppedAt });
    }
    return { completedInTransaction: true, next: committed.handOn };
  }

  /** Runs on from a step that just succeeded, while the run has one live branch (runAhead). */
  async function runStretch(flow: Flow, run: store.RunRow, step: FlowStep, done: { output: unknown; bytes: number; context: RunContext }): Promise<Stretch | undefined> {
    if (run.live_branches !== 1 || deps.settings.stepCommit.maxSteps <= 1) return undefined;
    const context: RunContext = { ...done.context, [step.id]: jsonCopy(done.output) };
    return runAhead(flow, run, { context, next: evaluateRoute(step, context), taken: 1, bytes: done.bytes });
  }

  /**
   * Runs the steps `next` leads to while it leads to one step, up to flows.stepCommit's bounds: each
   * step that simply succeeds joins the stretch (recorded with the commit); the first that does not is
   * tried once and handed on with its outcome (`stoppedAt`). `taken` steps and `bytes` of output are in
   * the commit already; `mayCall` can keep a step out (it is then next, untried).
   */
  async function runAhead(flow: Flow, run: store.RunRow, from: AheadFrom): Promise<Stretch> {
    const { maxSteps, maxMs } = deps.settings.stepCommit;
    let { context, next } = from;
    const records: store.NewStep[] = [];
    let bytes = 0;
    const began = Date.now();
    // A context past its limit fails the run at this commit: no step after the one that crossed it runs.
    const withinContextLimit = () => run.context_bytes + from.bytes + bytes <= deps.settings.contextBytes;
    while (next.length === 1 && records.length + from.taken < maxSteps && Date.now() - began < maxMs && withinContextLimit() && !deps.cancels.isCancelled(run.id)) {
      const nextStep = flow.steps.get(next[0]!);
      // A missing step or module is for its own activation to report (FatalRunError), after this commit.
      if (!nextStep || !deps.modules.transportFor(nextStep.subsystem) || (from.mayCall && !from.mayCall(nextStep))) break;
      const tried = await tryStep(deps, flow, run, nextStep, run.last_seq + records.length + 1, 1, context);
      const success = plainSuccess(deps, tried);
      if (!success) return { context, next, records, bytes, stoppedAt: tried };
      records.push({ ...tried.base, output: success.json.text, output_bytes: success.json.bytes });
      bytes += success.json.bytes;
      context = { ...context, [nextStep.id]: JSON.parse(success.json.text) as unknown };
      next = evaluateRoute(nextStep, context);
    }
    return { context, next, records, bytes };
  }

  /**
   * A commit refused because the run was cancelled meanwhile (by the API, possibly in another process):
   * the modules this activation called are recorded all the same, so the history shows what ran up to
   * the cancel. Nothing else moves: the run has ended. Refused for another reason (a lapsed lease, a
   * twin), the activation belongs to someone else, who records it.
   */
  async function recordIfCancelled(runId: string, record: store.NewStep | ((trx: Db) => Promise<unknown>), more: store.NewStep[]): Promise<undefined> {
    if ((await store.readRun(db, runId))?.state !== 'cancelled') return;
    const inserts = typeof record === 'function' ? more : [record, ...more];
    await transaction(async (trx) => {
      if (typeof record === 'function') await record(trx);
      if (inserts.length > 0) await store.insertSteps(trx, inserts);
    });
  }

  async function recordWaitingDone(trx: Db, id: number): Promise<void> {
    if (!(await store.finishWaitingStep(trx, id, clock.now()))) throw new Abandon();
  }

  async function insertOrAbandon(trx: Db, step: store.NewStep): Promise<void> {
    try {
      await store.insertStep(trx, step);
    } catch (err) {
      if (deps.dialect.isUniqueViolation(err)) throw new Abandon();
      throw err;
    }
  }

  async function markDead(runId: string, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const error = { code: err instanceof FatalRunError ? 'RUN_BROKEN' : 'SUPERVISOR_FAILED', message };
    let flowId: string | undefined;
    const committed = await transaction(async (trx) => {
      const run = await store.readRun(trx, runId);
      if (!run || !(await store.endRun(trx, runId, ['running', 'queued'], 'dead', clock.now(), error))) throw new Abandon();
      await publishRun(deps, trx, 'flow.run.failed', run, { state: 'dead', error });
      flowId = run.flow_id;
    });
    if (committed && flowId !== undefined) deps.metrics.runEnded(flowId, 'dead');
    log.error({ runId, err: message }, 'flow run dead');
    deps.runEnded(runId);
  }

  const { put: putWarm, take: takeWarm } = createWarmStore();

  /** The first activation of a fresh run: its row and context (and the step's try, if one was made) are known to whoever accepted it. */
  function warmStart(run: store.RunRow, seq: number, context: RunContext, tried?: Tried): void {
    putWarm(run.id, seq, { run, context, tried });
  }

  return { handleStepJob, loadContext, warmStart, runAhead };
}

/** Where a stretch starts: the context so far, the steps it leads to, and what the commit holds already. */
export interface AheadFrom {
  context: RunContext;
  next: string[];
  taken: number;
  bytes: number;
  mayCall?: (step: FlowStep) => boolean;
}

/** Steps run on after a success and recorded in the same commit; `next` is the route after the last of them. */
export interface Stretch {
  context: RunContext;
  next: string[];
  records: store.NewStep[];
  bytes: number;
  stoppedAt?: Tried;
}
const jsonCopy = (value: unknown): unknown => (value === undefined ? null : JSON.parse(JSON.stringify(value)));

export type Supervisor = ReturnType<typeof createSupervisor>;
