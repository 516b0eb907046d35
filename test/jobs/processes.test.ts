import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openDatabase, migrateToLatest, type Database } from '../../src/platform/db/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { createJobQueue, jobsMigration } from '../../src/platform/jobs/index.js';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { defaultOptions, log, waitFor } from './support.js';

// Real worker processes claiming from one PostgreSQL database (SQLite is single-process by design).
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = 'test/jobs/fixtures/worker-process.ts';

interface Worker {
  id: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: string[];
}

function spawnWorker(url: string, id: string, sleepMs: number, leaseMs: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, id, String(sleepMs), String(leaseMs)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (d) => output.push(String(d)));
  child.stderr!.on('data', (d) => output.push(String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { id, child, exited, output };
}

async function untilReady(w: Worker): Promise<void> {
  let gone = false;
  void w.exited.then(() => (gone = true));
  await waitFor(`worker ${w.id} to be ready`, () => {
    if (gone) throw new Error(`worker ${w.id} exited early:\n${w.output.join('')}`);
    return w.output.join('').includes('ready\n');
  }, 20_000);
}

/** SIGTERM (graceful stop) and the exit code; SIGKILL if it does not exit in time. */
async function terminate(w: Worker, timeoutMs = 10_000): Promise<number | null> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return w.child.exitCode;
  w.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([w.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  if (code === 'timeout') {
    w.child.kill('SIGKILL');
    await w.exited;
    throw new Error(`worker ${w.id} did not stop within ${timeoutMs} ms:\n${w.output.join('')}`);
  }
  return code;
}

interface Run {
  job_id: number;
  pid: number;
  worker: string;
  attempt: number;
  started_at: number;
  finished_at: number | null;
}

function byJob(runs: Run[]): Map<number, Run[]> {
  const m = new Map<number, Run[]>();
  for (const r of runs) m.set(r.job_id, [...(m.get(r.job_id) ?? []), r]);
  for (const list of m.values()) list.sort((a, b) => a.started_at - b.started_at);
  return m;
}

function assertNoOverlap(runs: Run[]): void {
  for (const [jobId, list] of byJob(runs)) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      if (prev.finished_at !== null) assert.ok(list[i].started_at >= prev.finished_at, `job ${jobId}: runs overlap`);
    }
  }
}

for (const kind of TEST_DATABASES.filter((k) => k === 'postgres')) {
  describe(`jobs on ${kind}: separate worker processes`, () => {
    let scratch: ScratchDatabase;
    let database: Database;
    const workers: Worker[] = [];

    before(async () => {
      scratch = await scratchDatabase(kind);
      database = openDatabase(scratch.url);
      await migrateToLatest(database, [jobsMigration]);
    });

    after(async () => {
      for (const w of workers) {
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await w.exited;
      }
      await database?.close();
      await scratch?.drop();
    });

    async function freshRuns(): Promise<void> {
      await database.db.schema.dropTable('job_runs').ifExists().execute();
      await database.db.schema
        .createTable('job_runs')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('job_id', 'bigint', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('worker', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
    }

    async function enqueue(n: number): Promise<number[]> {
      const q = createJobQueue({ db: database.db, dialect: database.dialect, log, clock: systemClock, options: defaultOptions });
      return database.db.transaction().execute(async (trx) => {
        const ids: number[] = [];
        for (let i = 0; i < n; i++) ids.push((await q.enqueue(trx, 'record', { i })).id!);
        return ids;
      });
    }

    const remaining = async () => Number((await database.db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const runs = async () => (await database.db.selectFrom('job_runs').selectAll().execute()) as Run[];

    it('three processes run 300 jobs, each exactly once, without overlap', async () => {
      await freshRuns();
      const group = ['w1', 'w2', 'w3'].map((id) => spawnWorker(scratch.url, id, 5, 30_000));
      workers.push(...group);
      await Promise.all(group.map(untilReady));

      const ids = await enqueue(300);
      await waitFor('all 300 jobs to finish', async () => (await remaining()) === 0, 30_000, 50);

      const all = await runs();
      const jobs = byJob(all);
      assert.equal(all.length, 300);
      assert.deepEqual([...jobs.keys()].sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
      assert.ok(all.every((r) => r.finished_at !== null && r.attempt === 1));
      const pids = new Set(all.map((r) => r.pid));
      assert.ok(pids.size >= 2, `only ${pids.size} process(es) did work`);
      assert.ok([...pids].every((p) => group.some((w) => w.child.pid === p)));
      assertNoOverlap(all);
      // Each process stays within its concurrency of 4.
      for (const pid of pids) {
        const mine = all.filter((r) => r.pid === pid);
        const peak = Math.max(...mine.map((r) => mine.filter((o) => o.started_at <= r.started_at && o.finished_at! > r.started_at).length));
        assert.ok(peak <= 4, `pid ${pid} ran ${peak} at once`);
      }

      for (const w of group) assert.equal(await terminate(w), 0, `worker ${w.id} exit code`);
    });

    it('a SIGKILLed worker loses nothing: its claimed jobs re-run elsewhere after the lease', async () => {
      await freshRuns();
      const leaseMs = 1000;
      const survivors = ['s1', 's2'].map((id) => spawnWorker(scratch.url, id, 20, leaseMs));
      // The victim is slow, so it is surely holding jobs when it dies.
      const victim = spawnWorker(scratch.url, 'victim', 400, leaseMs);
      workers.push(...survivors, victim);
      await Promise.all([...survivors, victim].map(untilReady));

      const ids = await enqueue(200);
      await waitFor('the victim to hold jobs', async () => {
        const held = await database.db.selectFrom('jobs').select('id').where('locked_by', '=', 'victim').where('state', '=', 'running').execute();
        return held.length > 0;
      });
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      await victim.exited;
      await new Promise((r) => setTimeout(r, 100)); // let any statement it had in flight settle
      const orphans = await database.db
        .selectFrom('jobs')
        .select(['id', 'locked_until'])
        .where('locked_by', '=', 'victim')
        .where('state', '=', 'running')
        .execute();
      assert.ok(orphans.length > 0, 'the victim held jobs when killed');

      await waitFor('every job to finish', async () => (await remaining()) === 0, 20_000, 50);

      const all = await runs();
      const jobs = byJob(all);
      const orphanIds = new Set(orphans.map((o) => Number(o.id)));
      for (const id of ids) {
        const list = jobs.get(id) ?? [];
        assert.ok(list.some((r) => r.finished_at !== null), `job ${id} was lost`);
        // Only jobs the victim held run twice; everything else exactly once.
        if (!orphanIds.has(id)) assert.equal(list.length, 1, `job ${id} ran ${list.length} times`);
      }
      for (const o of orphans) {
        const rerun = jobs.get(Number(o.id))!.filter((r) => r.worker !== 'victim' && r.finished_at !== null);
        assert.equal(rerun.length, 1, `orphan ${o.id} re-ran once`);
        assert.ok(rerun[0].started_at > Number(o.locked_until), `orphan ${o.id} re-ran only after its lease`);
        assert.ok(rerun[0].started_at > killedAt);
        assert.ok(rerun[0].attempt >= 2);
      }
      for (const r of all.filter((x) => x.worker === 'victim' && x.finished_at === null)) {
        assert.ok(orphanIds.has(r.job_id), `victim's unfinished job ${r.job_id} was among its claims`);
      }
      assertNoOverlap(all);

      for (const w of survivors) assert.equal(await terminate(w), 0, `worker ${w.id} exit code`);
    });
  });
}
