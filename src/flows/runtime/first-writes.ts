import { sql } from 'kysely';
import { Histogram, type Registry } from 'prom-client';
import { prepared, type Db } from '../../platform/db/index.js';
import type { EventBus, NewEvent } from '../../platform/events/index.js';
import type { ClaimedJob, JobInsertStatement } from '../../platform/jobs/index.js';
import { withClauses, type Clause } from './one-statement.js';
import * as store from './store.js';

/** A run's first write: the run as it stands, the records of steps it ran before (safe steps first), its events, its next job. */
export interface FirstWrite {
  run: store.RunRow;
  records: store.NewStep[];
  events: NewEvent[];
  /** Its next activation, enqueued claimed by this process (adopted from the answer). */
  job?: JobInsertStatement;
}

/** At most this many batches are written at once: the rest of the pool serves the steps and the workers. */
const BATCHES_AT_ONCE = 2;
/** Most runs in one statement: bounds the statement's size and the first run's wait. */
const MOST_RUNS = 64;
/** A batch takes more runs only while their contexts (request and outputs) hold fewer bytes than this. */
const MOST_BYTES = 8 * 1024 * 1024;

interface Pending {
  write: FirstWrite;
  resolve(job: ClaimedJob | null): void;
  reject(err: unknown): void;
}

/**
 * First writes of runs, as ONE statement per batch, where the database takes writes in a WITH clause
 * (PostgreSQL). A run's first write is one statement anyway (no transaction); under load the statements
 * of many requests are alike and small, and their fixed costs (a round trip, parse and plan, a commit
 * with its WAL flush, the driver's work per query) were most of what a run cost. Writes that arrive
 * while BATCHES_AT_ONCE statements are under way wait and go together in the next one; a lone request
 * goes at the end of the event-loop turn it arrived in, so it waits for nothing. Each table's rows
 * travel as one JSON parameter (insertIf): as a VALUES list, the hundreds of parameters of a batch cost
 * more to compile, bind, parse and plan than the rows cost to write.
 *
 * A batch is all or nothing, and every run in it learns its outcome only after the commit. When a batch
 * fails (one run's Idempotency-Key taken meanwhile, say), nothing of it was written, and each of its runs
 * is written again alone, so that each gets its own answer and no run fails for another's sake.
 */
export function createFirstWrites(db: Db, events: Pick<EventBus, 'publishStatement'>, metrics?: Registry) {
  // How well the writes group: runs per statement (a run written alone again after a failed batch counts as a statement of one).
  const runsPerStatement = new Histogram({
    name: 'conveyor_flow_first_write_runs',
    help: 'Flow runs first written per PostgreSQL statement (runs arriving together share one; see docs/flows.md)',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: metrics ? [metrics] : [],
  });
  let waiting: Pending[] = [];
  let underWay = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || underWay >= BATCHES_AT_ONCE || waiting.length === 0) return;
    scheduled = true;
    setImmediate(takeBatch);
  }

  function takeBatch(): void {
    scheduled = false;
    let taken = 0;
    for (let bytes = 0; taken < waiting.length && taken < MOST_RUNS && bytes < MOST_BYTES; taken++) bytes += waiting[taken]!.write.run.context_bytes;
    const batch = waiting.slice(0, taken);
    waiting = waiting.slice(taken);
    underWay++;
    void settle(batch).finally(() => {
      underWay--;
      schedule();
    });
    schedule();
  }

  async function settle(batch: Pending[]): Promise<void> {
    try {
      const jobs = await writeTogether(batch.map((p) => p.write));
      batch.forEach((p, i) => p.resolve(jobs[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // Nothing of the batch was written: each run alone, so that only the one at fault fails.
      await Promise.all(batch.map((p) => writeTogether([p.write]).then((jobs) => p.resolve(jobs[0]!), p.reject)));
    }
  }

  /** One statement for all the writes; each write's claimed job (or null). */
  async function writeTogether(writes: FirstWrite[]): Promise<(ClaimedJob | null)[]> {
    runsPerStatement.observe(writes.length);
    const always = sql`true`; // insertIf's form, for its one JSON parameter per table
    const clauses: Clause[] = [
      ['runs', store.wholeRunInsert(writes.map((w) => w.run), always)],
      ['events', events.publishStatement(writes.flatMap((w) => w.events), always)],
    ];
    const records = writes.flatMap((w) => w.records);
    if (records.length > 0) clauses.push(['steps', store.stepsInsert(records, always)]);
    const jobs: RawSelect[] = [];
    writes.forEach((w, i) => {
      if (!w.job) return;
      const name = `job_${jobs.length}`; // numbered in turn, not by run: the text depends only on how many
      clauses.push([name, w.job.sql]);
      jobs.push(sql`select ${i}::int as i, row_to_json(j) as job from ${sql.ref(name)} j`);
    });
    // Named: its texts are few (they differ only in how many of the runs have a job).
    const { rows } = await prepared(sql<{ i: number; job: unknown }>`
      with ${withClauses(clauses)}
      ${jobs.length > 0 ? sql.join(jobs, sql` union all `) : sql`select null::int as i, null as job where false`}`).execute(db);
    const adopted: (ClaimedJob | null)[] = writes.map(() => null);
    for (const row of rows) adopted[row.i] = writes[row.i]!.job!.adopt(row.job);
    return adopted;
  }

  return {
    write(write: FirstWrite): Promise<ClaimedJob | null> {
      return new Promise((resolve, reject) => {
        waiting.push({ write, resolve, reject });
        schedule();
      });
    },
  };
}

type RawSelect = ReturnType<typeof sql>;

export type FirstWrites = ReturnType<typeof createFirstWrites>;
