import { Type } from 'typebox';

/** Response and request shapes of the flows API; they also make its OpenAPI document. */

const Ms = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });
const Json = (description: string) => Type.Unknown({ description });

export const FlowIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
export const RunIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 40 }) });

export const IntakeQuery = Type.Object(
  { wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 30_000, description: 'Wait up to this many ms (bounded by flows.maxWaitMs) for the run to end' })) },
  { additionalProperties: false },
);

export const RunState = Type.Enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead']);

export const Accepted = Type.Object({
  runId: Type.String(),
  state: RunState,
  duplicate: Type.Boolean({ description: 'An earlier request with the same Idempotency-Key made this run' }),
});

export const Outcome = Type.Object({
  runId: Type.String(),
  flowId: Type.String(),
  version: Type.Integer(),
  state: RunState,
  duplicate: Type.Boolean(),
  context: Json('The final run context: `request` and the latest output of each step, keyed by step id'),
  error: Json('Why the run failed, or null'),
});

export const RunSummary = Type.Object({
  runId: Type.String(),
  flowId: Type.String(),
  version: Type.Integer({ description: 'The stored flow version the run started on' }),
  state: RunState,
  idempotencyKey: Type.Union([Type.String(), Type.Null()]),
  replayOf: Type.Union([Type.String(), Type.Null()]),
  replayFrom: Type.Union([Type.String(), Type.Null()]),
  liveBranches: Type.Integer(),
  contextBytes: Type.Integer(),
  error: Json('{ step, code, message } when the run failed, was cancelled or is dead'),
  createdAt: Type.Integer(),
  startedAt: Ms('null while the run waits in the intake buffer (rate, batch, cron)'),
  finishedAt: Ms('null until the run ends'),
  durationMs: Ms('startedAt → finishedAt'),
});

export const StepRecord = Type.Object({
  stepId: Type.String(),
  seq: Type.Integer({ description: 'Activation number within the run (a step in a loop or reached by two branches has several)' }),
  attempt: Type.Integer(),
  state: Type.Enum(['succeeded', 'failed', 'retrying', 'waiting', 'reused']),
  module: Type.String(),
  input: Json('What the module got ({"$context": true} = the whole run context; cut copies carry "$truncated")'),
  output: Json('What the module answered'),
  error: Json('{ code, message, retryable } of a failed attempt'),
  wakeAt: Ms('When a waiting step or the next retry is due'),
  startedAt: Type.Integer(),
  finishedAt: Ms('null while waiting'),
  durationMs: Ms('startedAt → finishedAt'),
});

export const RunDetail = Type.Object({
  ...RunSummary.properties,
  request: Json('The intake body'),
  steps: Type.Array(StepRecord, { description: 'Every attempt of every step, in the order they finished' }),
  nextStepsAfter: Type.Union([Type.Integer(), Type.Null()], { description: 'More steps follow: pass as ?afterStep= to read them' }),
});

export const RunsQuery = Type.Object(
  {
    flow: Type.Optional(Type.String({ minLength: 1 })),
    state: Type.Optional(RunState),
    before: Type.Optional(Type.String({ minLength: 1, description: 'A run id: runs created before it (the `next` of the previous page)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

export const RunQuery = Type.Object(
  {
    afterStep: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    stepLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  },
  { additionalProperties: false },
);

export const RunList = Type.Object({
  runs: Type.Array(RunSummary),
  next: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?before= for the next page; null on the last' }),
});

export const ReplayBody = Type.Object(
  { fromStep: Type.String({ minLength: 1, description: 'The step to run again; outputs of the steps that finished before it are reused' }) },
  { additionalProperties: false },
);

export const Replayed = Type.Object({ runId: Type.String(), state: RunState, replayOf: Type.String(), fromStep: Type.String() });

export const ReplayManyBody = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('failed'), Type.Literal('dead')], { default: 'failed', description: 'Which ended runs to replay' })),
    fromStep: Type.Optional(Type.String({ minLength: 1, description: 'The step to run each again from; default: the step each run failed at' })),
    before: Type.Optional(Type.String({ minLength: 1, description: 'A run id: runs created before it (the `next` of the previous call)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'At most this many runs looked at (newest first), replayed oldest first' })),
  },
  { additionalProperties: false },
);

export const ReplayedMany = Type.Object({
  replayed: Type.Array(Type.Object({ runId: Type.String({ description: 'The new run' }), replayOf: Type.String(), fromStep: Type.String() })),
  skipped: Type.Array(Type.Object({ runId: Type.String(), reason: Type.String() })),
  next: Type.Union([Type.String(), Type.Null()], { description: 'The `before` of the next page; null on the last' }),
});
export const Cancelled = Type.Object({ runId: Type.String(), state: RunState });

export const FlowSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer({ description: 'The stored version (a new one for each change of the file)' }),
  steps: Type.Integer(),
  start: Type.Array(Type.String()),
  intake: Json('The intake policy'),
  source: Type.String(),
});

export const FlowDetail = Type.Object({
  ...FlowSummary.properties,
  onError: Type.Union([Type.String(), Type.Null()]),
  definition: Json('The flow as loaded, defaults applied (the same schema as flow files)'),
  stepList: Type.Array(Type.Object({ id: Type.String(), subsystem: Type.String(), next: Type.Array(Type.String()), onError: Type.Union([Type.String(), Type.Null()]) })),
  buffer: Type.Object(
    {
      waiting: Type.Integer({ description: 'Requests accepted and waiting for the intake policy to start them (queued runs)' }),
      oldestAcceptedAt: Type.Union([Type.Integer(), Type.Null()], { description: 'Epoch ms when the oldest waiting request was accepted' }),
      nextReleaseAt: Type.Union([Type.Integer(), Type.Null()], {
        description: 'Epoch ms when the intake policy next lets waiting requests start (now, when they are due); null when nothing waits or it waits for more requests',
      }),
      releases: Type.String({ description: 'When and why the buffer next releases, in words' }),
    },
    { description: 'The intake buffer (rate, batch and cron flows; always empty for immediate ones)' },
  ),
});
