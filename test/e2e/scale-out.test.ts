// Scaling out: `conveyor start` plus a `conveyor worker` on one PostgreSQL database share the job
// queue (each job runs once, both processes work); on the embedded SQLite database `worker` refuses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/platform/clock.js';
import { openDatabase, type Database } from '../../src/platform/db/index.js';
import { createJobQueue } from '../../src/platform/jobs/index.js';
import { createLogger } from '../../src/platform/logging/index.js';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { freePort, ROOT, runConveyor, spawnConveyor, stop, tempDir, waitFor, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';
import { RUNS_TABLE, TASK } from './fixtures/record-plugin.js';

const JOBS = 200;
const PLUGIN = join(ROOT, 'test', 'e2e', 'fixtures', 'record-plugin.ts');

for (const kind of TEST_DATABASES.filter((k) => k === 'postgres')) {
  describe(`scale-out on ${kind}: conveyor start + conveyor worker`, () => {
    const dir = tempDir();
    let scratch: ScratchDatabase;
    let database: Database | undefined;
    let hub: ConveyorProcess | undefined;
    let worker: ConveyorProcess | undefined;

    before(async () => {
      scratch = await scratchDatabase(kind);
      // Both processes read this file from their working directory: poll often so the test is quick.
      writeFileSync(join(dir.path, 'conveyor.yaml'), 'jobs:\n  pollIntervalMs: 50\n  concurrency: 4\n');
    });

    after(async () => {
      await stop(worker);
      await stop(hub);
      await database?.close();
      await scratch?.drop();
      dir.remove();
    });

    it(`runs ${JOBS} jobs exactly once each, shared between both processes`, async (t) => {
      const env = { DATABASE_URL: scratch.url, CONVEYOR_PLUGINS: PLUGIN };
      const port = await freePort();
      hub = spawnConveyor(['start', '--no-demo', '--port', String(port)], { cwd: dir.path, env });
      await waitReady(hub, `http://127.0.0.1:${port}`);
      // Started after the hub, so the migrations and the plugin's CREATE TABLE do not race.
      worker = spawnConveyor(['worker'], { cwd: dir.path, env });
      const w = worker;
      await waitFor('the worker to start', () => w.output().includes('Conveyor worker running'), 60_000, 100, w);

      // Enqueue from a third, hub-less connection: the jobs table is the only contract.
      database = openDatabase(scratch.url, { poolSize: 2 });
      const db = database;
      const queue = createJobQueue({
        db: db.db,
        dialect: db.dialect,
        log: createLogger('silent'),
        clock: systemClock,
        options: { concurrency: 1, pollIntervalMs: 1000, leaseMs: 30_000, maxAttempts: 3 },
      });
      const ids = await db.db.transaction().execute(async (trx) => {
        const out: number[] = [];
        for (let i = 0; i < JOBS; i++) out.push((await queue.enqueue(trx, TASK, { i, sleepMs: 10 })).id!);
        return out;
      });

      const left = async () => Number((await db.db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      await waitFor(`all ${JOBS} jobs to finish`, async () => (await left()) === 0, 60_000, 100);

      const runs = (await db.db.selectFrom(RUNS_TABLE).select(['job_id', 'pid']).execute()) as { job_id: number; pid: number }[];
      const perJob = new Map<number, number>();
      for (const r of runs) perJob.set(Number(r.job_id), (perJob.get(Number(r.job_id)) ?? 0) + 1);
      assert.deepEqual([...perJob.keys()].sort((a, b) => a - b), [...ids].sort((a, b) => a - b), 'every enqueued job ran');
      assert.deepEqual([...perJob.entries()].filter(([, n]) => n !== 1), [], 'no job ran twice');

      const perPid = new Map<number, number>();
      for (const r of runs) perPid.set(r.pid, (perPid.get(r.pid) ?? 0) + 1);
      t.diagnostic(`jobs per process: hub ${perPid.get(hub.pid) ?? 0}, worker ${perPid.get(w.pid) ?? 0}`);
      assert.deepEqual([...perPid.keys()].sort(), [hub.pid, w.pid].sort(), 'exactly the hub and the worker ran jobs');
      assert.ok(perPid.get(hub.pid)! > 0 && perPid.get(w.pid)! > 0, 'both processes took part');

      // A worker stops cleanly on SIGTERM.
      await stop(worker);
      assert.deepEqual(await w.exited, { code: 0, signal: null });
    });
  });
}

describe('conveyor worker on the embedded SQLite database', () => {
  const dir = tempDir();
  after(() => dir.remove());

  it('refuses with a clear message and a non-zero exit, without creating a database', async () => {
    const { code, output } = await runConveyor(['worker'], { cwd: dir.path });
    assert.notEqual(code, 0);
    assert.match(output, /conveyor worker needs PostgreSQL/);
    assert.match(output, /DATABASE_URL=postgres/);
    assert.equal(existsSync(join(dir.path, 'data')), false);
  });
});
