import type { BufferOutlook, FlowEntry, RunRow, StepRow } from '../runtime/index.js';

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
const span = (from: number | null, to: number | null) => (from !== null && to !== null ? to - from : null);

export function runSummary(r: RunRow) {
  return {
    runId: r.id,
    flowId: r.flow_id,
    version: r.version,
    state: r.state,
    idempotencyKey: r.idempotency_key,
    replayOf: r.replay_of,
    replayFrom: r.replay_from,
    liveBranches: r.live_branches,
    contextBytes: r.context_bytes,
    error: parse(r.error),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: span(r.started_at, r.finished_at),
  };
}

export function stepRecord(s: StepRow) {
  return {
    stepId: s.step_id,
    seq: s.seq,
    attempt: s.attempt,
    state: s.state,
    module: s.module,
    input: parse(s.input),
    output: parse(s.output),
    error: parse(s.error),
    wakeAt: s.wake_at,
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    durationMs: span(s.started_at, s.finished_at),
  };
}

export function flowSummary({ flow, version }: FlowEntry) {
  return {
    id: flow.id,
    name: flow.name,
    description: flow.description ?? null,
    version,
    steps: flow.steps.size,
    start: [...flow.start],
    intake: flow.intake,
    source: flow.source,
  };
}

export function flowDetail(entry: FlowEntry, buffer: BufferOutlook) {
  const { flow } = entry;
  return {
    ...flowSummary(entry),
    onError: flow.onError ?? null,
    definition: flow.definition,
    stepList: [...flow.steps.values()].map((s) => ({ id: s.id, subsystem: s.subsystem, next: [...s.next], onError: s.onError ?? null })),
    buffer,
  };
}
