import { sql } from 'kysely';
import type { Db, SqlDialect } from '../db/index.js';
import { findLiveJobId, type JobState } from './store.js';

/**
 * SQL for operators (the /jobs API and `conveyor jobs`): list, read, retry and delete jobs. Every change is
 * one conditional statement, so it cannot race a worker or another operator.
 */

/** A job as operators see it; times are epoch milliseconds. */
export interface JobRecord {
  id: number;
  task: string;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAt: number;
  lockedBy: string | null;
  lockedUntil: number | null;
  lastError: string | null;
  /** job_key of a live job, dead_key of a dead one. */
  key: string | null;
  createdAt: number;
  updatedAt: number;
  /** The parsed payload; when payloadTruncated, the first characters of its JSON text instead. */
  payload: unknown;
  payloadTruncated: boolean;
  /** Length of the payload's JSON text. */
  payloadChars: number;
}

export interface JobListQuery {
  state?: JobState;
  task?: string;
  limit: number;
  /** Keyset paging: only jobs with a smaller id (the previous page's nextBefore). */
  before?: number;
}

/** Lists hold many jobs: a payload longer than this is cut (the one-job read gives it whole). */
export const LIST_PAYLOAD_CHARS = 2000;

const COLUMNS = [
  'id',
  'task',
  'state',
  'priority',
  'attempts',
  'max_attempts',
  'run_at',
  'locked_by',
  'locked_until',
  'last_error',
  'job_key',
  'dead_key',
  'created_at',
  'updated_at',
] as const;

/** Newest first; nextBefore is set when more jobs follow. */
export async function listJobs(db: Db, q: JobListQuery): Promise<{ jobs: JobRecord[]; nextBefore: number | null }> {
  // substr/length in SQL: a list never reads a big payload whole.
  const rows = await db
    .selectFrom('jobs')
    .select([...COLUMNS, sql<string>`substr(payload, 1, ${LIST_PAYLOAD_CHARS})`.as('payload'), sql<number>`length(payload)`.as('payload_chars')])
    .$if(q.state !== undefined, (qb) => qb.where('state', '=', q.state!))
    .$if(q.task !== undefined, (qb) => qb.where('task', '=', q.task!))
    .$if(q.before !== undefined, (qb) => qb.where('id', '<', q.before!))
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
  const jobs = rows.slice(0, q.limit).map((r) => toRecord(r, LIST_PAYLOAD_CHARS));
  return { jobs, nextBefore: rows.length > q.limit ? jobs[jobs.length - 1]!.id : null };
}

/** Jobs per state, of one task when given. */
export async function countJobsByState(db: Db, task?: string): Promise<Record<JobState, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['state', db.fn.countAll().as('n')])
    .$if(task !== undefined, (qb) => qb.where('task', '=', task!))
    .groupBy('state')
    .execute();
  const out: Record<JobState, number> = { queued: 0, running: 0, dead: 0 };
  for (const r of rows) out[r.state as JobState] = Number(r.n);
  return out;
}

export async function readJob(db: Db, id: number): Promise<JobRecord | undefined> {
  const row = await db
    .selectFrom('jobs')
    .select([...COLUMNS, 'payload', sql<number>`length(payload)`.as('payload_chars')])
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export type RetryOutcome =
  | { kind: 'retried'; job: JobRecord }
  | { kind: 'missing' }
  | { kind: 'not-dead'; state: JobState }
  /** A live job holds the dead job's key (heldBy null: it was gone again by the time we looked). */
  | { kind: 'key-taken'; key: string; heldBy: number | null };

/**
 * A dead job back to the queue, due now, with a fresh attempt count and its key restored; the last
 * error stays until the next attempt replaces it. The partial unique index on job_key refuses it
 * when a live job holds the key, atomically.
 */
export async function retryDeadJob(db: Db, dialect: SqlDialect, id: number, now: number): Promise<RetryOutcome> {
  try {
    const r = await db
      .updateTable('jobs')
      .set((eb) => ({ state: 'queued', attempts: 0, run_at: now, job_key: eb.ref('dead_key'), dead_key: null, locked_by: null, locked_until: null, updated_at: now }))
      .where('id', '=', id)
      .where('state', '=', 'dead')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return { kind: 'retried', job: (await readJob(db, id))! };
  } catch (err) {
    if (!dialect.isUniqueViolation(err)) throw err;
    const key = (await readJob(db, id))?.key ?? '';
    return { kind: 'key-taken', key, heldBy: await findLiveJobId(db, key) };
  }
  const job = await readJob(db, id);
  return job ? { kind: 'not-dead', state: job.state } : { kind: 'missing' };
}

export type DeleteOutcome = { kind: 'deleted'; job: JobRecord } | { kind: 'missing' } | { kind: 'kept'; job: JobRecord };

/**
 * Deletes a job in one of `deletable` states (dead or queued by default; a running one belongs to its
 * worker and stays). `deletableFor` may narrow them by the job's task.
 */
export async function deleteJob(db: Db, id: number, deletableFor: (task: string) => JobState[] = () => ['dead', 'queued']): Promise<DeleteOutcome> {
  // The state condition of the delete decides, not the read: a worker may claim or fail the job in
  // between, so read again when they disagree (a few times: states do not flip for ever).
  let job = await readJob(db, id);
  for (let tries = 0; job && deletableFor(job.task).includes(job.state) && tries < 3; tries++) {
    const r = await db.deleteFrom('jobs').where('id', '=', id).where('state', 'in', deletableFor(job.task)).executeTakeFirst();
    if (Number(r.numDeletedRows) === 1) return { kind: 'deleted', job };
    job = await readJob(db, id);
  }
  return job ? { kind: 'kept', job } : { kind: 'missing' };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toRecord(r: any, cutAt?: number): JobRecord {
  const chars = Number(r.payload_chars);
  const truncated = cutAt !== undefined && chars > cutAt;
  return {
    id: Number(r.id),
    task: r.task,
    state: r.state,
    priority: Number(r.priority),
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    runAt: Number(r.run_at),
    lockedBy: r.locked_by,
    lockedUntil: r.locked_until === null ? null : Number(r.locked_until),
    lastError: r.last_error,
    key: r.job_key ?? r.dead_key ?? null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    payload: truncated ? r.payload : JSON.parse(r.payload),
    payloadTruncated: truncated,
    payloadChars: chars,
  };
}
