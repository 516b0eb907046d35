import { AppError } from '../../platform/errors/index.js';
import { ENDED_STATES, type FlowEntry, type FlowRuntime, type RunRow, type RunState } from '../runtime/index.js';
import { runSummary, stepRecord } from './views.js';

/**
 * Run reads and actions with their refusals, shared by the HTTP API (routes.ts) and `conveyor runs …`
 * (src/cli/runs.ts), so both apply the same rules and answer the same documents. Refusals are AppErrors:
 * the API answers them with their status, the CLI prints their message and exits 1.
 */

export function loadedFlow(flows: FlowRuntime, id: string): FlowEntry {
  const entry = flows.registry.get(id);
  if (!entry) {
    const known = flows.registry.list().map((e) => e.flow.id);
    throw new AppError('NOT_FOUND', `Flow "${id}" is not loaded; loaded flows: ${known.length ? known.join(', ') : 'none'} (files in ${flows.deps.settings.dir})`);
  }
  return entry;
}

export async function mustRun(flows: FlowRuntime, id: string): Promise<RunRow> {
  const found = await flows.runs.read(id);
  if (!found) {
    throw new AppError('NOT_FOUND', `Run ${id} does not exist (ended runs are kept ${flows.deps.settings.retentionDays} days, flows.retentionDays); check the id against GET /runs or \`conveyor runs list\``);
  }
  return found;
}

export interface RunPageQuery {
  flow?: string;
  state?: RunState;
  before?: string;
  limit: number;
}

/** Newest first; `next` is the `before` of the next page, null on the last. */
export async function runPage(flows: FlowRuntime, q: RunPageQuery) {
  const rows = await flows.runs.list({ flowId: q.flow, state: q.state, before: q.before, limit: q.limit });
  return { runs: rows.map(runSummary), next: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
}

export const STEP_PAGE = 200;

/** GET /runs/:id's document: the run, its request and a page of step records. */
export async function runDocument(flows: FlowRuntime, id: string, afterStep = 0, stepLimit = STEP_PAGE) {
  const found = await mustRun(flows, id);
  const steps = await flows.runs.steps(found.id, afterStep, stepLimit);
  return {
    ...runSummary(found),
    request: JSON.parse(found.request) as unknown,
    steps: steps.map(stepRecord),
    nextStepsAfter: steps.length === stepLimit ? steps[steps.length - 1]!.id : null,
  };
}

/** A new run of an ended run's flow (current version) from `fromStep`; refused for a run not ended or an unknown step. */
export async function replayRun(flows: FlowRuntime, id: string, fromStep: string) {
  const old = await mustRun(flows, id);
  if (!ENDED_STATES.includes(old.state)) throw new AppError('CONFLICT', `Run ${old.id} is ${old.state}; replay an ended run (cancel it first)`);
  const entry = loadedFlow(flows, old.flow_id);
  mustHaveStep(entry, fromStep);
  const replayed = await flows.intake.replay(entry, old, fromStep);
  return { runId: replayed.runId, state: replayed.state, replayOf: old.id, fromStep };
}

export interface ReplayManyQuery {
  flow: string;
  state: 'failed' | 'dead';
  /** Default: the step each run failed at. */
  fromStep?: string;
  before?: string;
  limit: number;
}

/**
 * Replays a page of a flow's failed (or dead) runs — after an outage of what a step calls, say. Each run
 * goes again from `fromStep`, or else from the step it failed at, on the flow's current version, oldest
 * first (so the new runs keep the order the requests came in). A run replayed already (by any way) is
 * skipped, so running the same command twice does not replay twice; so is one with no step to go from
 * (a dead run records none: give fromStep) or whose step the current version no longer has. Pages newest
 * to oldest like GET /runs: `next` is the `before` of the next page.
 */
export async function replayRuns(flows: FlowRuntime, q: ReplayManyQuery) {
  const entry = loadedFlow(flows, q.flow);
  if (q.fromStep !== undefined) mustHaveStep(entry, q.fromStep);
  const page = await flows.runs.list({ flowId: q.flow, state: q.state, before: q.before, limit: q.limit });
  const earlier = await flows.runs.replaysOf(page.map((r) => r.id));
  const replayed: { runId: string; replayOf: string; fromStep: string }[] = [];
  const skipped: { runId: string; reason: string }[] = [];
  for (const old of [...page].reverse()) {
    const skip = (reason: string) => skipped.push({ runId: old.id, reason });
    const already = earlier.get(old.id);
    const fromStep = q.fromStep ?? failedAt(old);
    if (already !== undefined) skip(`replayed already, as run ${already}`);
    else if (fromStep === undefined) skip('no failing step is recorded (a dead run): give fromStep');
    else if (!entry.flow.steps.has(fromStep)) skip(`the flow's current version (${entry.version}) has no step "${fromStep}"`);
    else {
      const { runId } = await flows.intake.replay(entry, old, fromStep);
      replayed.push({ runId, replayOf: old.id, fromStep });
    }
  }
  return { replayed, skipped, next: page.length === q.limit ? page[page.length - 1]!.id : null };
}

/** The step a run failed at, as its error records it. */
function failedAt(run: RunRow): string | undefined {
  const step = run.error === null ? undefined : (JSON.parse(run.error) as { step?: unknown }).step;
  return typeof step === 'string' ? step : undefined;
}

function mustHaveStep(entry: FlowEntry, fromStep: string): void {
  if (entry.flow.steps.has(fromStep)) return;
  throw new AppError('VALIDATION_FAILED', `fromStep: flow ${entry.flow.id} has no step "${fromStep}"; its steps: ${[...entry.flow.steps.keys()].join(', ')}`, [
    { field: 'fromStep', message: `unknown step "${fromStep}"` },
  ]);
}

/**
 * Cancels a queued or running run through intake.cancel (which, on PostgreSQL, NOTIFYs every hub process).
 * `by` says who, in the run's error ("cancelled through the API by Admin").
 */
export async function cancelRun(flows: FlowRuntime, id: string, by: string) {
  const found = await mustRun(flows, id);
  if (!(await flows.intake.cancel(found, by))) {
    throw new AppError('CONFLICT', `Run ${found.id} has already ended (${(await mustRun(flows, found.id)).state}); only a queued or running run can be cancelled`);
  }
  return { runId: found.id, state: 'cancelled' as const };
}
