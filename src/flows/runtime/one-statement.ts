import { sql, type RawBuilder } from 'kysely';
import { prepared, type Db } from '../../platform/db/index.js';
import type { ClaimedJob, JobInsertStatement } from '../../platform/jobs/index.js';
import * as store from './store.js';

/**
 * A step's commit as ONE statement, where the database takes writes in a WITH clause (PostgreSQL,
 * `dialect.dataModifyingCtes`); a run's first write is one too (first-writes.ts). Each statement is a
 * round trip, and the round trips (begin, run, event, job, commit; begin, steps, job, run, event,
 * commit) were most of what a run cost on PostgreSQL. SQLite runs the same writes one by one:
 * in-process calls, no round trips.
 */

export type Clause = readonly [name: string, statement: RawBuilder<unknown>];
export const withClauses = (clauses: Clause[]) => sql.join(clauses.map(([name, statement]) => sql`${sql.ref(name)} as (${statement})`));

/** Builds a write that happens only where `onlyIf` holds. */
type Conditional<T> = (onlyIf: RawBuilder<unknown>) => T;

export interface StepCommit {
  /** The run as this activation knows it: one live branch, these counters. */
  run: Pick<store.RunRow, 'id' | 'last_seq' | 'context_bytes'>;
  /** The records of the activation and of the steps of its stretch. */
  records: store.NewStep[];
  /** The activation's job completion (JobInfo.completionStatement). */
  completion: Conditional<RawBuilder<unknown>>;
  change: store.RunAdvance;
  /** The single next step's job, handed on claimed. */
  next?: Conditional<JobInsertStatement>;
  /** The run's last branch ends here: the run succeeds at this time, with this event. */
  succeeded?: { at: number; event: Conditional<RawBuilder<unknown>> };
}

export interface StepCommitted {
  /** The job was this worker's and the run as expected: the activation is done (and the job with it). */
  completed: boolean;
  /** The run's counters after the write; undefined when it ended meanwhile (cancelled: nothing recorded). */
  advanced: store.Advanced | undefined;
  next: ClaimedJob | null;
}

/**
 * One step commit of a single-branch run, as one statement with no transaction around it: all of it or
 * none. The job is completed only while it is this worker's and the run is as this activation knows it
 * (running, its counters unchanged); the run moves on only if the job was completed; the records, the
 * next job and the end event are written only if the run moved on. A run cancelled in between (the one
 * change another process can make to it) leaves the job completed and nothing recorded, which is what
 * the transaction would have come to. Not completed: nothing was written, and the caller takes the
 * usual way, which tells a lapsed lease from anything else.
 */
export async function commitStep(db: Db, c: StepCommit): Promise<StepCommitted> {
  const { id, last_seq, context_bytes } = c.run;
  const runAsKnown = sql`exists (select 1 from flow_runs where id = ${id} and state = 'running' and live_branches = 1 and last_seq = ${last_seq} and context_bytes = ${context_bytes})`;
  const ifCompleted = sql`exists (select 1 from done)`;
  const ifAdvanced = sql`exists (select 1 from advanced)`;
  const next = c.next?.(ifAdvanced);
  const clauses: Clause[] = [
    ['done', c.completion(runAsKnown)],
    ['advanced', store.runAdvance(id, c.change, c.succeeded?.at, sql`last_seq = ${last_seq} and ${ifCompleted}`)],
    ['steps', store.stepsInsert(c.records, ifAdvanced)],
  ];
  if (next) clauses.push(['next_job', next.sql]);
  if (c.succeeded) clauses.push(['ended', c.succeeded.event(ifAdvanced)]);
  // Named: its texts are few (with or without a next job, with or without the end).
  const { rows } = await prepared(sql<{ completed: unknown; live_branches: unknown; last_seq: unknown; context_bytes: unknown; next_job: unknown }>`
    with ${withClauses(clauses)}
    select (select count(*) from done) as completed, a.live_branches, a.last_seq, a.context_bytes,
           ${next ? sql`(select row_to_json(n) from next_job n)` : sql`null`} as next_job
      from (select 1) as one left join advanced a on true`).execute(db);
  const row = rows[0]!;
  return {
    completed: Number(row.completed) === 1,
    advanced: row.live_branches === null ? undefined : store.advanced(row),
    next: next ? next.adopt(row.next_job ?? undefined) : null,
  };
}
