import { sql, type RawBuilder } from 'kysely';
import { execute, insertIf, rowsInsert, toRaw, type Db, type SqlDialect } from '../db/index.js';

/**
 * All SQL on the `jobs` table. Times are parameters from the Clock, never dialect time functions. The
 * statements of every job (insert, complete) are written out as SQL: building them cost more than running them.
 */

export type JobState = 'queued' | 'running' | 'dead';

export interface JobRow {
  id: number;
  task: string;
  payload: string;
  job_key: string | null;
  state: JobState;
  priority: number;
  run_at: number;
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
}

export interface NewJob {
  task: string;
  payload: string;
  key: string | null;
  runAt: number;
  priority: number;
  maxAttempts: number;
  now: number;
}

/** A new job's row: queued, or already claimed by a worker (running, leased, first attempt). */
function newJobRow(job: NewJob, claimedBy?: { workerId: string; lockedUntil: number }) {
  return {
    task: job.task,
    payload: job.payload,
    job_key: job.key,
    state: claimedBy ? 'running' : 'queued',
    priority: job.priority,
    run_at: job.runAt,
    attempts: claimedBy ? 1 : 0,
    max_attempts: job.maxAttempts,
    locked_by: claimedBy?.workerId ?? null,
    locked_until: claimedBy?.lockedUntil ?? null,
    created_at: job.now,
    updated_at: job.now,
  };
}
type NewJobRow = ReturnType<typeof newJobRow>;
const JOB_COLUMNS = Object.keys(newJobRow({ task: '', payload: '', key: null, runAt: 0, priority: 0, maxAttempts: 0, now: 0 })) as (keyof NewJobRow)[];
// No conflict target: matches the partial unique index on job_key on both dialects.
const jobRowsReturningId = rowsInsert<NewJobRow>('jobs', JOB_COLUMNS, ' on conflict do nothing returning id');
const jobRowsReturningAll = rowsInsert<NewJobRow>('jobs', JOB_COLUMNS, ' on conflict do nothing returning *');

/** Inserts unless a live job holds the same key; returns the new id, or null when it was a duplicate. */
export async function insertJob(db: Db, job: NewJob): Promise<number | null> {
  const { rows } = await execute<{ id: number }>(db, jobRowsReturningId([newJobRow(job)]));
  return rows[0] ? Number(rows[0].id) : null;
}

/** Brings the queued job holding `key` forward to `runAt`, if it was due later; false when none was. */
export async function hastenJob(db: Db, key: string, runAt: number): Promise<boolean> {
  const r = await db.updateTable('jobs').set({ run_at: runAt }).where('job_key', '=', key).where('state', '=', 'queued').where('run_at', '>', runAt).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Inserts a job already claimed by `workerId` (running, leased, first attempt), for a worker that runs
 * it next itself; null when a live job holds the key. If the worker dies, the lease lapses and any
 * worker claims it as usual.
 */
export async function insertClaimedJob(db: Db, job: NewJob, workerId: string, lockedUntil: number): Promise<JobRow | null> {
  const { rows } = await execute<JobRow>(db, jobRowsReturningAll([newJobRow(job, { workerId, lockedUntil })]));
  return rows[0] ? jobRow(rows[0]) : null;
}

/**
 * insertClaimedJob's statement (`returning *`), or the plain enqueue's when no worker claims it; with
 * `onlyIf` (PostgreSQL only, inside a WITH clause) the job is inserted only where that condition holds.
 */
export function claimedJobInsert(job: NewJob, workerId: string | null, lockedUntil: number, onlyIf?: RawBuilder<unknown>): RawBuilder<JobRow> {
  const claimedBy = workerId === null ? undefined : { workerId, lockedUntil };
  if (onlyIf) {
    const values = newJobRow(job, claimedBy);
    return sql<JobRow>`${insertIf('jobs', Object.keys(values), [values], onlyIf)} on conflict do nothing returning *`;
  }
  return toRaw<JobRow>(jobRowsReturningAll([newJobRow(job, claimedBy)]));
}

/** A returned job row with a numeric id, however it came back (a driver's row, or a row_to_json object). */
export function jobRow(row: JobRow): JobRow {
  return { ...row, id: Number(row.id) };
}

/** Gives a claimed job back to the queue untouched (a worker that stops before starting it). */
export async function unclaimJob(db: Db, claim: Claim, now: number): Promise<boolean> {
  const r = await owned(db, claim)
    .set((eb) => ({ state: 'queued', run_at: now, attempts: eb('attempts', '-', 1), locked_by: null, locked_until: null, updated_at: now }))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function findLiveJobId(db: Db, key: string): Promise<number | null> {
  const row = await db.selectFrom('jobs').select('id').where('job_key', '=', key).executeTakeFirst();
  return row ? Number(row.id) : null;
}

/**
 * Claims up to `limit` due jobs, plus running jobs whose lease expired (their worker died).
 * PostgreSQL: SKIP LOCKED lets many workers claim disjoint batches without waiting on each other.
 * SQLite: one writer at a time, and an UPDATE takes the write lock before it reads, so the plain
 * statement is already atomic.
 */
export async function claimJobs(db: Db, dialect: SqlDialect, workerId: string, now: number, leaseMs: number, limit: number): Promise<JobRow[]> {
  if (limit <= 0) return [];
  const due = db
    .selectFrom('jobs')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([eb('state', '=', 'running'), eb('locked_until', '<', now)]),
      ]),
    )
    .orderBy('priority', 'desc')
    .orderBy('run_at')
    .orderBy('id')
    .limit(limit)
    .$if(dialect.skipLocked, (qb) => qb.forUpdate().skipLocked());
  const rows = await db
    .updateTable('jobs')
    .set((eb) => ({
      state: 'running',
      locked_by: workerId,
      locked_until: now + leaseMs,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    .where('id', 'in', due)
    .returningAll()
    .execute();
  return (rows as JobRow[])
    .map((r) => ({ ...r, id: Number(r.id) }))
    .sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
}

/** A claim is identified by (id, worker, attempt): a worker whose lease lapsed no longer owns the row. */
export interface Claim {
  id: number;
  workerId: string;
  attempt: number;
}

function owned(db: Db, claim: Claim) {
  return db
    .updateTable('jobs')
    .where('id', '=', claim.id)
    .where('state', '=', 'running')
    .where('locked_by', '=', claim.workerId)
    .where('attempts', '=', claim.attempt);
}

/** Success: the row goes away, freeing its key. False when someone else owns the job by now. */
export async function completeJob(db: Db, claim: Claim): Promise<boolean> {
  const r = await execute(db, jobCompletion(claim));
  return Number(r.numAffectedRows) === 1;
}

/**
 * completeJob's statement; `returning id` when embedded in a larger one, to tell whether it still owned
 * the job; with `onlyIf` (inside a PostgreSQL WITH clause) it completes only where that condition holds.
 */
export function jobCompletion(claim: Claim, returning = false, onlyIf?: RawBuilder<unknown>): RawBuilder<{ id: number }> {
  return sql`
    delete from jobs where id = ${claim.id} and state = 'running' and locked_by = ${claim.workerId} and attempts = ${claim.attempt}${onlyIf ? sql` and ${onlyIf}` : sql``}${returning ? sql` returning id` : sql``}`;
}

/** A periodic job's run is done: queue it again under the same key, with a fresh attempt count. */
export async function repeatJob(db: Db, claim: Claim, runAt: number, now: number): Promise<boolean> {
  const r = await owned(db, claim)
    .set({ state: 'queued', run_at: runAt, attempts: 0, locked_by: null, locked_until: null, last_error: null, updated_at: now })
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function retryJob(db: Db, claim: Claim, runAt: number, error: string, now: number): Promise<boolean> {
  const r = await owned(db, claim)
    .set({ state: 'queued', run_at: runAt, locked_by: null, locked_until: null, last_error: error, updated_at: now })
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Dead letter: kept for inspection; the key moves to dead_key so it can be enqueued afresh. */
export async function buryJob(db: Db, claim: Claim, error: string, now: number): Promise<boolean> {
  const r = await owned(db, claim)
    .set((eb) => ({
      state: 'dead',
      dead_key: eb.ref('job_key'),
      job_key: null,
      locked_by: null,
      locked_until: null,
      last_error: error,
      updated_at: now,
    }))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Heartbeat: pushes the lease of this worker's running jobs forward; returns how many it still owns. */
export async function extendLeases(db: Db, workerId: string, ids: number[], lockedUntil: number): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('jobs')
    .set({ locked_until: lockedUntil })
    .where('id', 'in', ids)
    .where('state', '=', 'running')
    .where('locked_by', '=', workerId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function countJobs(db: Db): Promise<Record<JobState, number>> {
  const rows = await db.selectFrom('jobs').select(['state', db.fn.countAll().as('n')]).groupBy('state').execute();
  const out: Record<JobState, number> = { queued: 0, running: 0, dead: 0 };
  for (const r of rows) out[r.state as JobState] = Number(r.n);
  return out;
}
