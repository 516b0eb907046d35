import { Type } from 'typebox';

/** Shapes of the operations API (/jobs, /event-subscribers); they also make its OpenAPI document. */

const Ms = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });
const NullableString = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const JobState = Type.Enum(['queued', 'running', 'dead']);

export const JobIdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

export const JobsQuery = Type.Object(
  {
    state: Type.Optional(JobState),
    task: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'A job id: only older jobs (the `nextBefore` of the previous page)' })),
  },
  { additionalProperties: false },
);

export const Job = Type.Object({
  id: Type.Integer(),
  task: Type.String(),
  state: JobState,
  priority: Type.Integer(),
  attempts: Type.Integer({ description: 'Attempts made (a retried dead job starts again at 0)' }),
  maxAttempts: Type.Integer(),
  runAt: Type.Integer({ description: 'Epoch ms when it is due (for a dead job: when its last attempt was due)' }),
  lockedBy: NullableString('The worker running it'),
  lockedUntil: Ms('Epoch ms when the running worker’s lease ends'),
  lastError: NullableString('Error of the last failed attempt'),
  key: NullableString('Its idempotency key (a dead job keeps it aside, so the key is free for a new job)'),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  payload: Type.Unknown({ description: 'The payload; in lists, when payloadTruncated, the first 2000 characters of its JSON text (a string)' }),
  payloadTruncated: Type.Boolean({ description: 'Only in lists: the payload was cut; GET /jobs/{id} gives it whole' }),
  payloadChars: Type.Integer({ description: 'Length of the payload’s JSON text' }),
});

const Counts = Type.Object(
  { queued: Type.Integer(), running: Type.Integer(), dead: Type.Integer() },
  { description: 'Jobs per state (of the task, when ?task= is given; the state filter does not apply)' },
);

export const JobList = Type.Object({
  jobs: Type.Array(Job, { description: 'Newest first' }),
  nextBefore: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as ?before= for the next page; null on the last' }),
  counts: Counts,
});

export const SubscriberParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });

export const EventRef = Type.Object({
  id: Type.Integer(),
  topic: Type.String(),
  entityType: Type.String(),
  entityId: Type.String(),
  createdAt: Type.Integer(),
});

export const Subscriber = Type.Object({
  name: Type.String(),
  topics: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description:
      'Its topic filter (["*"]: every topic), as recorded by the last process that registered it (or as the answering process subscribes it); ' +
      'null when unknown: registered only before filters were recorded, and not subscribed in the answering process',
  }),
  lastEventId: Type.Integer({ description: 'The checkpoint: the last event it is past' }),
  lag: Type.Integer({ description: 'Matching events after the checkpoint; with topics null, events of every topic' }),
  failures: Type.Integer({ description: 'Failed attempts at the event it waits at' }),
  lastError: NullableString('Error of the last failed attempt'),
  updatedAt: Type.Integer(),
  retryAt: Ms('Epoch ms of the next attempt while failing (updatedAt + backoff), else null'),
  stuckAt: Type.Union([EventRef, Type.Null()], { description: 'The event it fails on (while failing and its filter is known), else null' }),
  lastSeenAt: Type.Integer({
    description: 'Epoch ms when a running process last registered it or renewed that (every minute); 0: never. For checkpoints older than this field, it starts as their updatedAt',
  }),
  lastSeenBy: NullableString('The process that did (host:pid)'),
  inUse: Type.Boolean({ description: 'Seen within the last 5 minutes: a process runs it. Otherwise it may have been removed from the code (forget it with DELETE)' }),
});

export const ForgetQuery = Type.Object(
  { force: Type.Optional(Type.Boolean({ default: false, description: 'Forget it even though a process registered it within the last 5 minutes' })) },
  { additionalProperties: false },
);

export const SkipBody = Type.Object(
  { eventId: Type.Integer({ minimum: 1, description: 'The id of the event the subscriber is stuck at (its stuckAt.id)' }) },
  { additionalProperties: false },
);

export const Skipped = Type.Object({ skipped: EventRef, subscriber: Subscriber });
