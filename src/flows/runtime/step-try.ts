import { getPath } from '../conditions/path.js';
import type { Flow, FlowStep } from '../definition/flow.js';
import type { RuntimeDeps } from './deps.js';
import { callWithDeadline } from './dispatch.js';
import { cappedJson, toJson } from './json.js';
import { isDeferral } from './local.js';
import type { StepCall, StepOutcome } from './module.js';
import { FatalRunError } from './registry.js';
import type * as store from './store.js';

/** What conditions and inputs read: the request and the latest output of each step, by step id. */
export type RunContext = Record<string, unknown>;

/** One try of a step: the history record it makes and what the module answered. */
export interface Tried {
  base: store.NewStep;
  outcome: StepOutcome;
}

/** One call of a step's module with its deadline, and the history record it makes (without outcome yet). */
export async function tryStep(deps: RuntimeDeps, flow: Flow, run: store.RunRow, step: FlowStep, seq: number, attempt: number, context: RunContext): Promise<Tried> {
  const input = step.input ? mapInput(step.input, context) : context;
  const timeoutMs = step.timeoutMs ?? deps.settings.modules[step.subsystem]?.timeoutMs ?? deps.settings.stepTimeoutMs;
  const call: StepCall = {
    runId: run.id,
    flowId: flow.id,
    flowVersion: run.version,
    stepId: step.id,
    module: step.subsystem,
    attempt,
    idempotencyKey: `${run.id}:${step.id}:${seq}`,
    input,
    options: { ...(step.options ?? {}) },
    deadline: Date.now() + timeoutMs,
  };
  const transport = deps.modules.transportFor(step.subsystem);
  if (!transport) throw new FatalRunError(`module "${step.subsystem}" of step ${step.id} is not available in this process`);

  const startedAt = deps.clock.now();
  const cancel = deps.cancels.acquire(run.id);
  let outcome;
  try {
    outcome = await callWithDeadline(transport, call, cancel);
  } finally {
    deps.cancels.release(run.id);
  }
  const finishedAt = deps.clock.now();
  deps.metrics.stepTried(step.subsystem, outcome.ok, finishedAt - startedAt);
  const base: store.NewStep = {
    run_id: run.id,
    step_id: step.id,
    seq,
    attempt,
    state: 'succeeded',
    module: step.subsystem,
    // With no `input` mapping the input is the whole context, already kept as earlier outputs: not copied again.
    input: step.input ? cappedJson(input, deps.settings.historyBytes) : '{"$context":true}',
    output: null,
    output_bytes: 0,
    error: null,
    wake_at: null,
    started_at: startedAt,
    finished_at: finishedAt,
  };
  return { base, outcome };
}

/** A plain success: an output within the size limit that is not a deferral (those are recorded differently). */
export function plainSuccess(deps: RuntimeDeps, { outcome }: Tried): { output: unknown; json: { text: string; bytes: number } } | undefined {
  if (!outcome.ok || isDeferral(outcome.output)) return undefined;
  const json = toJson(outcome.output);
  return json.bytes > deps.settings.stepOutputBytes ? undefined : { output: outcome.output, json };
}

/** A step's `input` mapping applied to the context: each key gets the value at its path (missing → null). */
export function mapInput(mapping: Readonly<Record<string, string>>, context: RunContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, path] of Object.entries(mapping)) out[key] = getPath(context, path) ?? null;
  return out;
}
