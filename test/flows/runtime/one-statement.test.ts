// PostgreSQL's one-statement step commit (src/flows/runtime/one-statement.ts): all of it or none. The
// whole flow runtime runs on it in the other tests on PostgreSQL; these cases pin down what it does when
// the job or the run is not as the step knows it, which a running hub only meets in races and crashes.
// PostgreSQL only: SQLite has no writes in WITH clauses, and runs the usual transaction.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { sql } from 'kysely';
import * as oneStatement from '../../../src/flows/runtime/one-statement.js';
import type { NewStep } from '../../../src/flows/runtime/store.js';
import { eventInsert } from '../../../src/platform/events/store.js';
import { claimedJobInsert, insertClaimedJob, jobCompletion, jobRow, type JobRow } from '../../../src/platform/jobs/store.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { migratedDatabase } from '../../support/migrated-database.js';

const RUN = 'run-1';
const WORKER = 'worker-a';
const NOW = 1_700_000_000_000;

const record = (stepId: string, seq: number): NewStep => ({
  run_id: RUN,
  step_id: stepId,
  seq,
  attempt: 1,
  state: 'succeeded',
  module: 'set',
  input: '{}',
  output: `{"step":"${stepId}"}`,
  output_bytes: 14,
  error: null,
  wake_at: null,
  started_at: NOW,
  finished_at: NOW + 1,
});

if (TEST_DATABASES.includes('postgres')) {
  describe('flows: the one-statement step commit (postgres)', () => {
    const { db, database } = migratedDatabase('postgres');
    let job: JobRow;
    const count = async (table: string, where = sql`true`) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(db())).rows[0]!.n);
    const runRow = async () => (await sql<Record<string, unknown>>`select state, live_branches, last_seq, context_bytes, finished_at from flow_runs where id = ${RUN}`.execute(db())).rows[0]!;

    beforeEach(async () => {
      for (const table of ['flow_steps', 'flow_runs', 'jobs', 'events']) await sql`delete from ${sql.table(table)}`.execute(db());
      await sql`insert into flow_runs (id, flow_id, version, state, request, request_hash, live_branches, last_seq, context_bytes, created_at, started_at)
                values (${RUN}, 'f', 1, 'running', '{}', 'h', 1, 1, 2, ${NOW}, ${NOW})`.execute(db());
      const newJob = { task: 'flows.step', payload: '{}', key: `${RUN}:s1:1`, runAt: NOW, priority: 0, maxAttempts: 3, now: NOW };
      job = (await insertClaimedJob(db(), newJob, WORKER, NOW + 60_000))!;
    });

    /** s1 (seq 1) and s2 (a stretch, seq 2) recorded; s3 (seq 3) handed on, or the run ends. */
    const commit = (known: { last_seq: number; context_bytes: number }, o: { ends?: boolean; worker?: string; records?: NewStep[] } = {}) => {
      const next = { task: 'flows.step', payload: '{"stepId":"s3"}', key: `${RUN}:s3:3`, runAt: NOW, priority: 0, maxAttempts: 3, now: NOW };
      return oneStatement.commitStep(db(), {
        run: { id: RUN, ...known },
        records: o.records ?? [record('s1', 1), record('s2', 2)],
        completion: (onlyIf) => jobCompletion({ id: job.id, workerId: o.worker ?? WORKER, attempt: 1 }, true, onlyIf),
        change: { branches: o.ends ? -1 : 0, newActivations: o.ends ? 1 : 2, contextBytes: 28 },
        next: o.ends ? undefined : (onlyIf) => ({ sql: claimedJobInsert(next, WORKER, NOW + 60_000, onlyIf), adopt: (row) => (row ? { claimedJobId: jobRow(row as JobRow).id } : null) }),
        succeeded: o.ends ? { at: NOW + 5, event: (onlyIf) => eventInsert({ topic: 'flow.run.succeeded', entityType: 'flow_run', entityId: RUN, payload: {} }, NOW + 5, onlyIf) } : undefined,
      });
    };

    it('as known: completes the job, moves the run on, records both steps and hands on the next job, claimed', async () => {
      const r = await commit({ last_seq: 1, context_bytes: 2 });
      assert.equal(r.completed, true);
      assert.deepEqual(r.advanced, { liveBranches: 1, lastSeq: 3, contextBytes: 30 });
      assert.ok(r.next && r.next.claimedJobId !== job.id);
      assert.equal(await count('jobs', sql`id = ${job.id}`), 0, 'the finished job is gone');
      const handed = (await sql<{ state: string; locked_by: string; job_key: string }>`select state, locked_by, job_key from jobs`.execute(db())).rows;
      assert.deepEqual(handed, [{ state: 'running', locked_by: WORKER, job_key: `${RUN}:s3:3` }]);
      assert.equal(await count('flow_steps'), 2);
      assert.equal(await count('events'), 0, 'the run goes on: no end event');
    });

    it('the last branch ending: the run succeeds in the same write, with its event', async () => {
      const r = await commit({ last_seq: 1, context_bytes: 2 }, { ends: true });
      assert.deepEqual(r.advanced, { liveBranches: 0, lastSeq: 2, contextBytes: 30 });
      assert.deepEqual(await runRow(), { state: 'succeeded', live_branches: 0, last_seq: 2, context_bytes: 30, finished_at: NOW + 5 });
      assert.equal(await count('events', sql`topic = 'flow.run.succeeded' and entity_id = ${RUN}`), 1);
      assert.equal(await count('jobs'), 0);
    });

    it('a job no longer this worker’s (its lease lapsed): nothing at all is written', async () => {
      const r = await commit({ last_seq: 1, context_bytes: 2 }, { worker: 'worker-b', ends: true });
      assert.deepEqual(r, { completed: false, advanced: undefined, next: null });
      assert.deepEqual(await runRow(), { state: 'running', live_branches: 1, last_seq: 1, context_bytes: 2, finished_at: null });
      assert.equal(await count('flow_steps'), 0);
      assert.equal(await count('events'), 0);
      assert.equal(await count('jobs', sql`id = ${job.id} and state = 'running'`), 1, 'the job stays for whoever owns it');
    });

    it('a run not as the step knows it (other counters, or cancelled): nothing written, the job left for the usual way', async () => {
      assert.equal((await commit({ last_seq: 5, context_bytes: 2 })).completed, false);
      assert.equal((await commit({ last_seq: 1, context_bytes: 99 })).completed, false);
      await sql`update flow_runs set state = 'cancelled' where id = ${RUN}`.execute(db());
      assert.equal((await commit({ last_seq: 1, context_bytes: 2 })).completed, false);
      assert.equal(await count('flow_steps'), 0);
      assert.equal(await count('jobs'), 1, 'only the unfinished job');
    });

    it('a record a twin already wrote: the statement fails as a whole (unique violation), the job and run untouched', async () => {
      await sql`insert into flow_steps (run_id, step_id, seq, attempt, state, module, output_bytes, started_at) values (${RUN}, 's2', 2, 1, 'succeeded', 'set', 0, ${NOW})`.execute(db());
      await assert.rejects(commit({ last_seq: 1, context_bytes: 2 }), (err) => database().dialect.isUniqueViolation(err));
      assert.deepEqual(await runRow(), { state: 'running', live_branches: 1, last_seq: 1, context_bytes: 2, finished_at: null });
      assert.equal(await count('jobs', sql`id = ${job.id}`), 1);
      assert.equal(await count('flow_steps'), 1);
    });
  });
}
