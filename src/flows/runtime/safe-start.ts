import type { ClaimedJob } from '../../platform/jobs/index.js';
import { REQUEST_ROOT } from '../conditions/compile.js';
import type { Flow } from '../definition/flow.js';
import { contextTooLarge, enqueueSteps, runEvent, STEP_TASK, stepJobKey, type EndedRun, type RuntimeDeps, type StepJob } from './deps.js';
import type { RunContext } from './step-try.js';
import * as store from './store.js';
import type { Stretch, Supervisor } from './supervisor.js';

/**
 * Safe steps first (flows.safeStepsFirst). A request that waits for its run (?wait) runs the first steps
 * of its flow whose modules are safe — lookups and pure transforms, which change nothing outside
 * Conveyor — before anything is written. The run is then written once: the run row as those steps left
 * it, their history, its events and, unless it ended, its next activation (claimed by this process and
 * started at once). That one write replaces the intake's and the first step commit's.
 *
 * Nothing is lost by it: until the write, the request has no answer, so it was not accepted; a process
 * that dies meanwhile leaves nothing half-done, since no step with an effect outside was called, and the
 * client's retry (with its Idempotency-Key) starts afresh. The first step that is not safe runs only
 * after the write, as its own activation, exactly as it would have otherwise.
 */
export function createSafeStart(deps: RuntimeDeps, supervisor: Supervisor) {
  const { clock } = deps;
  let inFlight = 0;

  /** The flow starts with one safe step, this process runs steps, and fewer than the limit are under way. */
  function applies(flow: Flow): boolean {
    if (inFlight >= deps.settings.safeStepsFirst || flow.intake.mode !== 'immediate' || flow.start.length !== 1) return false;
    const first = flow.steps.get(flow.start[0]!);
    return first !== undefined && deps.modules.isSafe(first.subsystem, first.options) && deps.jobs.isRunning();
  }

  /** Runs the safe steps of a fresh run (`run`: running, no step numbered yet), then writes it; the outcome when it ended. */
  async function start(flow: Flow, run: store.RunRow): Promise<EndedRun | undefined> {
    inFlight++;
    // Held across the steps: they share one cancel signal (as an activation's stretch does).
    deps.cancels.acquire(run.id);
    let ahead: Stretch;
    try {
      const context: RunContext = { [REQUEST_ROOT]: JSON.parse(run.request) as unknown };
      ahead = await supervisor.runAhead(flow, run, { context, next: [...flow.start], taken: 0, bytes: 0, mayCall: (step) => deps.modules.isSafe(step.subsystem, step.options) });
    } finally {
      deps.cancels.release(run.id);
      inFlight--;
    }
    const { records, next, context } = ahead;
    const now = clock.now();
    const contextBytes = run.context_bytes + ahead.bytes;
    const limit = deps.settings.contextBytes;
    const row: store.RunRow = { ...run, live_branches: next.length, last_seq: records.length + next.length, context_bytes: contextBytes };
    if (contextBytes > limit) {
      const error = contextTooLarge(records.at(-1)?.step_id ?? flow.start[0]!, contextBytes, limit);
      Object.assign(row, { state: 'failed', live_branches: 0, finished_at: now, error: JSON.stringify(error) });
    } else if (next.length === 0) {
      Object.assign(row, { state: 'succeeded', finished_at: now });
    }
    const handOn = await write(row, records, row.state === 'running' ? next : []);
    if (row.state !== 'running') {
      deps.log.debug({ runId: row.id, flow: flow.id, state: row.state }, 'flow run ended');
      deps.metrics.runEnded(flow.id, row.state);
      return { run: row, context };
    }
    if (handOn) {
      // With one live branch nobody else adds outputs: the context is the one its next step would load
      // (a step that stopped the stretch hands on its try). Parallel branches load theirs as usual.
      if (next.length === 1) supervisor.warmStart(row, records.length + 1, context, ahead.stoppedAt);
      deps.jobs.runClaimed(handOn);
    }
    return undefined;
  }

  /** The one write: the run, the records, its events; and its next activations, the first claimed. */
  async function write(row: store.RunRow, records: store.NewStep[], next: string[]): Promise<ClaimedJob | null> {
    const endedEvent =
      row.state === 'succeeded' ? runEvent('flow.run.succeeded', row, { state: 'succeeded' }) : row.state === 'failed' ? runEvent('flow.run.failed', row, { state: 'failed', error: JSON.parse(row.error!) as unknown }) : undefined;
    const firstSeq = records.length + 1;
    const [first, ...rest] = next;
    const firstJob = first === undefined ? undefined : { task: STEP_TASK, payload: { runId: row.id, stepId: first, seq: firstSeq } satisfies StepJob, key: stepJobKey(row.id, first, firstSeq) };
    // One insert, so the started event comes first whatever the database does with a WITH clause's order.
    const events = [runEvent('flow.run.started', row), ...(endedEvent ? [endedEvent] : [])];
    if (deps.firstWrites && rest.length === 0) {
      // One statement, no transaction (PostgreSQL), shared with other runs written at the same moment.
      const job = firstJob && deps.jobs.claimedStatement(firstJob.task, firstJob.payload, { key: firstJob.key });
      const claimed = await deps.firstWrites.write({ run: row, records, events, job });
      deps.afterCommit({ jobs: job !== undefined && claimed === null });
      return claimed;
    }
    let claimed: ClaimedJob | null = null;
    await deps.transaction(async (trx) => {
      await store.insertWholeRun(trx, row);
      if (records.length > 0) await store.insertSteps(trx, records);
      await deps.events.publish(trx, events);
      if (firstJob) claimed = await deps.jobs.enqueueClaimed(trx, firstJob.task, firstJob.payload, { key: firstJob.key });
      await enqueueSteps(deps, trx, row.id, rest, firstSeq + 1);
    });
    deps.afterCommit({ jobs: (firstJob !== undefined && claimed === null) || rest.length > 0 });
    return claimed;
  }

  return { applies, start };
}

export type SafeStart = ReturnType<typeof createSafeStart>;
