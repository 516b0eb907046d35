// Runs' first writes batched into one statement (src/flows/runtime/first-writes.ts). The runtime tests on
// PostgreSQL go through it for every run; these pin down the batching itself: which writes share a
// statement (one transaction id), that each run gets its own claimed job back, and that a batch one run
// spoils is written again run by run, so only that run fails. PostgreSQL only: SQLite writes a run in
// its grouped transaction (group-commit.ts) instead.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { createFirstWrites, type FirstWrite } from '../../../src/flows/runtime/first-writes.js';
import type { NewStep, RunRow } from '../../../src/flows/runtime/store.js';
import type { NewEvent } from '../../../src/platform/events/index.js';
import { eventInsert } from '../../../src/platform/events/store.js';
import { claimedJobInsert, jobRow, type JobRow } from '../../../src/platform/jobs/store.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { migratedDatabase } from '../../support/migrated-database.js';

const NOW = 1_700_000_000_000;
const WORKER = 'worker-a';

const runRow = (id: string, o: Partial<RunRow> = {}): RunRow => ({
  id,
  flow_id: 'f',
  version: 1,
  state: 'running',
  request: '{}',
  request_hash: '',
  idempotency_key: null,
  replay_of: null,
  replay_from: null,
  live_branches: 1,
  last_seq: 1,
  context_bytes: 2,
  created_at: NOW,
  started_at: NOW,
  error: null,
  finished_at: null,
  ...o,
});

const record = (runId: string, seq: number): NewStep => ({
  run_id: runId,
  step_id: `s${seq}`,
  seq,
  attempt: 1,
  state: 'succeeded',
  module: 'set',
  input: '{}',
  output: '{}',
  output_bytes: 2,
  error: null,
  wake_at: null,
  started_at: NOW,
  finished_at: NOW,
});

const started = (runId: string): NewEvent => ({ topic: 'flow.run.started', entityType: 'flow_run', entityId: runId, payload: { runId } });

/** A run that ran one step ahead and goes on to s2, claimed by WORKER. */
function goingOn(id: string, o: Partial<RunRow> = {}): FirstWrite {
  const key = `${id}:s2:2`;
  const job = { task: 'flows.step', payload: JSON.stringify({ runId: id }), key, runAt: NOW, priority: 0, maxAttempts: 3, now: NOW };
  return {
    run: runRow(id, { last_seq: 2, ...o }),
    records: [record(id, 1)],
    events: [started(id)],
    job: { sql: claimedJobInsert(job, WORKER, NOW + 60_000), adopt: (row) => (row ? { claimedJobId: jobRow(row as JobRow).id } : null) },
  };
}

/** A run whose steps all ran ahead: written ended, with both events. */
function ended(id: string): FirstWrite {
  return {
    run: runRow(id, { state: 'succeeded', live_branches: 0, last_seq: 2, finished_at: NOW + 1 }),
    records: [record(id, 1), record(id, 2)],
    events: [started(id), { topic: 'flow.run.succeeded', entityType: 'flow_run', entityId: id, payload: { runId: id } }],
  };
}

if (TEST_DATABASES.includes('postgres')) {
  describe('flows: runs first written in batches (postgres)', () => {
    const { db } = migratedDatabase('postgres');
    const writer = (metrics?: Registry) => createFirstWrites(db(), { publishStatement: (e) => eventInsert(e, NOW) }, metrics);
    /** The transactions that wrote each run (the xid of its row). */
    const transactionsOf = async (ids: string[]) =>
      (await sql<{ id: string; tx: string }>`select id, xmin::text as tx from flow_runs where id in (${sql.join(ids)})`.execute(db())).rows;
    const count = async (table: string) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db())).rows[0]!.n);

    beforeEach(async () => {
      for (const table of ['flow_steps', 'flow_runs', 'jobs', 'events']) await sql`delete from ${sql.table(table)}`.execute(db());
    });

    it('writes that arrive together share one statement, and each run gets its own claimed job', async () => {
      const one = writer();
      const claimed = await Promise.all([goingOn('r1'), ended('r2'), goingOn('r3'), ended('r4')].map((w) => one.write(w)));
      const txs = await transactionsOf(['r1', 'r2', 'r3', 'r4']);
      assert.equal(txs.length, 4);
      assert.equal(new Set(txs.map((r) => r.tx)).size, 1, 'one statement for the four runs');
      assert.equal(claimed[1], null);
      assert.equal(claimed[3], null);
      for (const [i, id] of [[0, 'r1'], [2, 'r3']] as const) {
        const job = (await sql<{ key: string; state: string; locked_by: string }>`select job_key as key, state, locked_by from jobs where id = ${claimed[i]!.claimedJobId}`.execute(db())).rows[0]!;
        assert.deepEqual(job, { key: `${id}:s2:2`, state: 'running', locked_by: WORKER }, `run ${id} adopts its own job`);
      }
      assert.equal(await count('flow_steps'), 6);
      assert.deepEqual(
        (await sql<{ entity_id: string; topic: string }>`select entity_id, topic from events order by id`.execute(db())).rows.map((e) => `${e.entity_id} ${e.topic}`),
        ['r1 flow.run.started', 'r2 flow.run.started', 'r2 flow.run.succeeded', 'r3 flow.run.started', 'r4 flow.run.started', 'r4 flow.run.succeeded'],
      );
      const r2 = (await sql<{ state: string; finished_at: string }>`select state, finished_at from flow_runs where id = 'r2'`.execute(db())).rows[0]!;
      assert.deepEqual({ ...r2, finished_at: Number(r2.finished_at) }, { state: 'succeeded', finished_at: NOW + 1 });
    });

    it('a batch one run spoils is written run by run: only that run fails, nothing is written twice', async () => {
      // The key is taken meanwhile by another request's run: r2's insert violates the unique index.
      await sql`insert into flow_runs (id, flow_id, version, state, request, request_hash, idempotency_key, live_branches, last_seq, context_bytes, created_at)
                values ('earlier', 'f', 1, 'running', '{}', 'h', 'k-1', 1, 1, 2, ${NOW})`.execute(db());
      const one = writer();
      const outcomes = await Promise.allSettled([one.write(goingOn('r1')), one.write(goingOn('r2', { idempotency_key: 'k-1' })), one.write(ended('r3'))]);
      assert.equal(outcomes[0]!.status, 'fulfilled');
      assert.ok(outcomes[0]!.status === 'fulfilled' && outcomes[0]!.value !== null, 'r1 still gets its claimed job');
      assert.equal(outcomes[2]!.status, 'fulfilled');
      assert.equal(outcomes[1]!.status, 'rejected');
      assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /flow_runs_idempotency_unique/);
      const txs = await transactionsOf(['r1', 'r2', 'r3']);
      assert.deepEqual(txs.map((r) => r.id).sort(), ['r1', 'r3']);
      assert.equal(new Set(txs.map((r) => r.tx)).size, 2, 'written again one by one');
      assert.equal(await count('flow_steps'), 3, 'r1 one record, r3 two, r2 none');
      assert.equal(await count('jobs'), 1);
      assert.equal(await count('events'), 3);
    });

    it('a lone write fails with its own error', async () => {
      await writer().write(ended('r1'));
      await assert.rejects(writer().write(ended('r1')), /duplicate key value/);
      assert.equal(await count('events'), 2);
    });

    it('many writes at once: batches of at most 64 runs, all written once, counted in the metric', async () => {
      const metrics = new Registry();
      const one = writer(metrics);
      const ids = Array.from({ length: 300 }, (_, i) => `m${String(i).padStart(3, '0')}`);
      const claimed = await Promise.all(ids.map((id, i) => one.write(i % 2 === 0 ? goingOn(id) : ended(id))));
      assert.equal(claimed.filter((c) => c !== null).length, 150);
      const byTx = new Map<string, number>();
      for (const r of await transactionsOf(ids)) byTx.set(r.tx, (byTx.get(r.tx) ?? 0) + 1);
      assert.equal([...byTx.values()].reduce((a, b) => a + b, 0), 300);
      assert.ok(Math.max(...byTx.values()) <= 64, `largest batch ${Math.max(...byTx.values())}`);
      assert.ok(byTx.size >= 5 && byTx.size < 300, `${byTx.size} statements for 300 runs`);
      assert.equal(await count('flow_steps'), 150 + 300);
      assert.equal(await count('jobs'), 150);
      // conveyor_flow_first_write_runs: one observation per statement, of its runs.
      const histogram = (await metrics.getMetricsAsJSON()).find((m) => m.name === 'conveyor_flow_first_write_runs')!;
      const value = (suffix: string) => (histogram.values as { metricName?: string; value: number }[]).find((v) => v.metricName === `conveyor_flow_first_write_runs${suffix}`)!.value;
      assert.equal(value('_sum'), 300);
      assert.equal(value('_count'), byTx.size);
    });

    it('large contexts: a batch stops taking runs once their contexts reach 8 MiB', async () => {
      const one = writer();
      const ids = ['big-1', 'big-2', 'big-3', 'big-4', 'big-5'];
      await Promise.all(ids.map((id) => one.write(goingOn(id, { context_bytes: 3 * 1024 * 1024 }))));
      const sizes = new Map<string, number>();
      for (const r of await transactionsOf(ids)) sizes.set(r.tx, (sizes.get(r.tx) ?? 0) + 1);
      assert.deepEqual([...sizes.values()].sort(), [2, 3], 'three runs reach 9 MiB: the rest go in the next statement');
    });
  });
}
