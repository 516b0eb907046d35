import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/platform/clock.js';
import { claimJobs } from '../../src/platform/jobs/store.js';
import type { JobInfo } from '../../src/platform/jobs/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { gate, waitFor, withJobsDb } from './support.js';

for (const kind of TEST_DATABASES) {
  describe(`jobs on ${kind}`, () => {
    it('enqueues inside the caller transaction: a rollback leaves no job', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue();
        await assert.rejects(
          database.db.transaction().execute(async (trx) => {
            const r = await q.enqueue(trx, 'send', { to: 'a' });
            assert.equal(r.enqueued, true);
            throw new Error('roll back');
          }),
          /roll back/,
        );
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 });
        await database.db.transaction().execute((trx) => q.enqueue(trx, 'send', { to: 'b' }));
        assert.equal((await q.counts()).queued, 1);
      }));

    it('a key makes enqueue a no-op while the job is queued or running, and free again once done', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue();
        const whileRunning: boolean[] = [];
        q.defineTask('sync', async () => {
          whileRunning.push((await q.enqueue(database.db, 'sync', {}, { key: 'client:7' })).enqueued);
        });
        const first = await q.enqueue(database.db, 'sync', { n: 1 }, { key: 'client:7' });
        assert.equal(first.enqueued, true);
        assert.equal(typeof first.id, 'number');
        assert.deepEqual(await q.enqueue(database.db, 'sync', { n: 2 }, { key: 'client:7' }), { id: first.id, enqueued: false });
        assert.equal(await q.runOnce(), 1);
        assert.deepEqual(whileRunning, [false]);
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 });
        const again = await q.enqueue(database.db, 'sync', { n: 3 }, { key: 'client:7' });
        assert.equal(again.enqueued, true);
        assert.notEqual(again.id, first.id);
      }));

    it('retries with capped exponential backoff, then keeps a dead letter that frees the key', () =>
      withJobsDb(kind, async ({ database, clock, queue }) => {
        const q = queue({ maxAttempts: 3, retryBaseMs: 1000, retryCapMs: 1500 });
        const seen: JobInfo[] = [];
        q.defineTask('flaky', async (_payload, job) => {
          seen.push(job);
          throw new Error(`remote said no (${job.attempt})`);
        });
        const { id } = await q.enqueue(database.db, 'flaky', { secret: 'x' }, { key: 'flaky:1' });
        for (const attempt of [1, 2]) {
          assert.equal(await q.runOnce(), 1);
          const row = await database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
          assert.equal(row.state, 'queued');
          assert.equal(row.attempts, attempt);
          assert.equal(row.last_error, `Error: remote said no (${attempt})`);
          // Full jitter: anywhere in [0, min(cap, base * 2^(attempt-1))).
          assert.ok(row.run_at >= clock.now() && row.run_at < clock.now() + Math.min(1500, 1000 * 2 ** (attempt - 1)));
          if (row.run_at > clock.now()) {
            clock.set(row.run_at - 1);
            assert.equal(await q.runOnce(), 0, 'not before its backoff');
          }
          clock.set(row.run_at);
        }
        assert.equal(await q.runOnce(), 1);
        assert.deepEqual(seen.map((j) => [j.attempt, j.maxAttempts, j.key]), [
          [1, 3, 'flaky:1'],
          [2, 3, 'flaky:1'],
          [3, 3, 'flaky:1'],
        ]);
        const dead = await database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.equal(dead.state, 'dead');
        assert.equal(dead.job_key, null);
        assert.equal(dead.dead_key, 'flaky:1');
        assert.equal(dead.locked_by, null);
        assert.match(dead.last_error, /remote said no \(3\)/);
        clock.advance(10 * 3_600_000);
        assert.equal(await q.runOnce(), 0, 'dead letters are never claimed');
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 1 });
        assert.equal((await q.enqueue(database.db, 'flaky', {}, { key: 'flaky:1' })).enqueued, true);
      }));

    it('per-task and per-enqueue maxAttempts override the default', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue({ maxAttempts: 5 });
        q.defineTask('once', async () => Promise.reject(new Error('no')), { maxAttempts: 1 });
        await q.enqueue(database.db, 'once', null);
        await q.enqueue(database.db, 'once', null, { maxAttempts: 2 });
        assert.equal(await q.runOnce(), 2);
        assert.deepEqual(await q.counts(), { queued: 1, running: 0, dead: 1 });
      }));

    it('an unknown task goes straight to the dead letters with a clear error', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue({ maxAttempts: 5 });
        const { id } = await q.enqueue(database.db, 'nobody-handles-this', {});
        assert.equal(await q.runOnce(), 1);
        const row = await database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.equal(row.state, 'dead');
        assert.equal(row.attempts, 1);
        assert.match(row.last_error, /unknown task "nobody-handles-this"/);
      }));

    it('a handler past its timeout counts as a failure', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue();
        const hold = gate();
        q.defineTask('slow', () => hold.promise, { timeoutMs: 30 });
        const { id } = await q.enqueue(database.db, 'slow', {});
        assert.equal(await q.runOnce(), 1);
        hold.open();
        const row = await database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.equal(row.state, 'queued');
        assert.match(row.last_error, /timed out after 30 ms/);
      }));

    it('delayed jobs do not run early; higher priority runs first', () =>
      withJobsDb(kind, async ({ database, clock, queue }) => {
        const q = queue({ concurrency: 1 });
        const ran: string[] = [];
        q.defineTask('t', async (payload) => void ran.push((payload as { name: string }).name));
        await q.enqueue(database.db, 't', { name: 'later' }, { delayMs: 60_000 });
        await q.enqueue(database.db, 't', { name: 'at' }, { runAt: clock.now() + 120_000 });
        assert.equal(await q.runOnce(), 0);
        clock.advance(59_999);
        assert.equal(await q.runOnce(), 0);
        clock.advance(1);
        assert.equal(await q.runOnce(), 1);
        assert.deepEqual(ran, ['later']);
        await q.enqueue(database.db, 't', { name: 'low' });
        await q.enqueue(database.db, 't', { name: 'high' }, { priority: 10 });
        clock.advance(60_000);
        await q.runOnce();
        await q.runOnce();
        await q.runOnce();
        // Same priority: earlier run_at first.
        assert.deepEqual(ran, ['later', 'high', 'low', 'at']);
      }));

    it('a handler can complete its job in its own transaction and hand on a claimed next job, run in the same slot without a claim', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue();
        const ran: string[] = [];
        q.defineTask('step', async (payload, job) => {
          const { n } = payload as { n: number };
          ran.push(`${n}:${job.attempt}`);
          let next;
          await database.db.transaction().execute(async (trx) => {
            await trx.insertInto('jobs_test_log').values({ n }).execute();
            assert.equal(await job.completeIn(trx), true);
            if (n < 3) next = await job.enqueueNext(trx, 'step', { n: n + 1 }, { key: `step:${n + 1}` });
          });
          return { completedInTransaction: true as const, next };
        });
        await database.db.schema.createTable('jobs_test_log').addColumn('n', 'integer').execute();
        await q.enqueue(database.db, 'step', { n: 1 }, { key: 'step:1' });
        assert.equal(await q.runOnce(), 1, 'one claim ran the whole chain');
        assert.deepEqual(ran, ['1:1', '2:1', '3:1']);
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 }, 'each job was completed with its work');
        assert.deepEqual((await database.db.selectFrom('jobs_test_log').select('n').orderBy('n').execute()).map((r) => r.n), [1, 2, 3]);
        await database.db.schema.dropTable('jobs_test_log').execute();
      }));

    it('a job enqueued claimed for its caller runs here after the commit; with every slot busy it waits for the next one, its lease renewed', () =>
      withJobsDb(kind, async ({ database, clock, queue }) => {
        const q = queue({ concurrency: 1, leaseMs: 150 }, 'owner');
        const ran: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        q.defineTask('slow', async () => {
          ran.push('slow');
          await gate;
        });
        q.defineTask('mine', async (_payload, job) => void ran.push(`mine:${job.attempt}`));
        await q.start();
        await q.enqueue(database.db, 'slow', {});
        await waitFor('the slow job to start', () => ran.includes('slow'));
        let claimed;
        await database.db.transaction().execute(async (trx) => {
          claimed = await q.enqueueClaimed(trx, 'mine', {}, { key: 'mine' });
        });
        assert.ok(claimed, 'a running queue takes the job itself');
        q.runClaimed(claimed);
        clock.advance(1_000); // far past the lease it was enqueued with
        await new Promise((r) => setTimeout(r, 200)); // heartbeats renew it meanwhile
        const thief = queue({}, 'thief');
        thief.defineTask('mine', async () => assert.fail('another worker must not take a job waiting for a slot here'));
        assert.equal(await thief.runOnce(), 0, 'nothing is claimable: both jobs are leased to the owner');
        release();
        await waitFor('the claimed job to run', () => ran.length === 2);
        assert.deepEqual(ran, ['slow', 'mine:1'], 'it ran once, as its first attempt, when the slot freed');
        await waitFor('both jobs to complete', async () => (await q.counts()).running === 0);
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 });
      }));

    it('enqueueClaimed in a process whose workers are not running enqueues the job for any worker', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const idle = queue({}, 'idle');
        let claimed;
        await database.db.transaction().execute(async (trx) => {
          claimed = await idle.enqueueClaimed(trx, 'later', { n: 1 });
        });
        assert.equal(claimed, null);
        assert.deepEqual(await idle.counts(), { queued: 1, running: 0, dead: 0 });
      }));

    it('a claimed next job whose worker died is run by another worker once its lease lapses', () =>
      withJobsDb(kind, async ({ database, clock, queue }) => {
        const dying = queue({ leaseMs: 30_000 }, 'dying');
        // The handler hands on a job, but "dies" before the queue runs it (it throws after commit).
        dying.defineTask('step', async (_payload, job) => {
          await database.db.transaction().execute(async (trx) => {
            await job.completeIn(trx);
            await job.enqueueNext(trx, 'next', { n: 2 }, { key: 'next:2' });
          });
          throw new Error('process killed here');
        });
        dying.defineTask('next', async () => assert.fail('the dying worker must not run it'));
        await dying.enqueue(database.db, 'step', {});
        await dying.runOnce();
        const row = await database.db.selectFrom('jobs').selectAll().where('job_key', '=', 'next:2').executeTakeFirstOrThrow();
        assert.equal(row.state, 'running');
        assert.equal(row.locked_by, 'dying');

        const survivor = queue({ leaseMs: 30_000 }, 'survivor');
        const seen: number[] = [];
        survivor.defineTask('next', async (payload, job) => void seen.push((payload as { n: number }).n, job.attempt));
        assert.equal(await survivor.runOnce(), 0, 'still leased to the dead worker');
        clock.advance(30_001);
        assert.equal(await survivor.runOnce(), 1);
        assert.deepEqual(seen, [2, 2], 'run once more, as its second attempt');
        assert.deepEqual(await survivor.counts(), { queued: 0, running: 0, dead: 0 });
      }));

    it('re-claims a job whose worker vanished once its lease expires', () =>
      withJobsDb(kind, async ({ database, clock, queue }) => {
        const q = queue({ leaseMs: 30_000 }, 'survivor');
        const attempts: number[] = [];
        q.defineTask('t', async (_p, job) => void attempts.push(job.attempt));
        await q.enqueue(database.db, 't', {});
        // A worker claims the job and dies without finishing it.
        const [ghost] = await claimJobs(database.db, database.dialect, 'ghost', clock.now(), 30_000, 10);
        assert.equal(ghost.locked_by, 'ghost');
        assert.equal(await q.runOnce(), 0, 'still leased');
        clock.advance(30_000);
        assert.equal(await q.runOnce(), 0, 'lease ends strictly after locked_until');
        clock.advance(1);
        assert.equal(await q.runOnce(), 1);
        assert.deepEqual(attempts, [2]);
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 });
      }));

    it('a worker that lost its lease cannot complete a job re-claimed by another', () =>
      withJobsDb(kind, async ({ database, clock, queue }) => {
        const a = queue({ leaseMs: 1000 }, 'A');
        const b = queue({ leaseMs: 1000 }, 'B');
        const holdA = gate();
        const holdB = gate();
        let bStarted = false;
        a.defineTask('t', () => holdA.promise);
        b.defineTask('t', async () => {
          bStarted = true;
          await holdB.promise;
        });
        const { id } = await a.enqueue(database.db, 't', {});
        const runA = a.runOnce();
        await waitFor('A to claim', async () => (await a.counts()).running === 1);
        clock.advance(1001);
        const runB = b.runOnce();
        await waitFor('B to start', () => bStarted);
        holdA.open();
        await runA;
        const row = await database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        assert.equal(row.state, 'running');
        assert.equal(row.locked_by, 'B');
        assert.equal(row.attempts, 2);
        holdB.open();
        await runB;
        assert.deepEqual(await a.counts(), { queued: 0, running: 0, dead: 0 });
      }));

    it('the poll loop runs jobs with bounded concurrency, and stop() waits for running handlers', () =>
      withJobsDb(kind, async ({ database, queue }) => {
        const q = queue({ concurrency: 3, pollIntervalMs: 20 }, undefined, undefined, systemClock);
        let running = 0;
        let peak = 0;
        let done = 0;
        q.defineTask('t', async () => {
          peak = Math.max(peak, ++running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          done++;
        });
        await q.start();
        await database.db.transaction().execute(async (trx) => {
          for (let i = 0; i < 30; i++) await q.enqueue(trx, 't', { i });
        });
        q.nudge();
        await waitFor('30 jobs', () => done === 30);
        assert.ok(peak <= 3 && peak >= 2, `peak concurrency ${peak}`);

        let finished = false;
        q.defineTask('slow', async () => {
          await new Promise((r) => setTimeout(r, 150));
          finished = true;
        });
        await q.enqueue(database.db, 'slow', {});
        await waitFor('slow to start', async () => (await q.counts()).running === 1);
        await q.stop();
        assert.equal(finished, true);
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 });
      }));

    it('a handler returning repeatAfterMs stays queued under its key with fresh attempts, due after the delay', () =>
      withJobsDb(kind, async ({ database, queue, clock }) => {
        const q = queue();
        const runs: number[] = [];
        q.defineTask('tick', async (_payload, job) => {
          runs.push(job.attempt);
          if (runs.length === 1) throw new Error('first run fails');
          return runs.length < 4 ? { repeatAfterMs: 1000 } : undefined;
        });
        await q.enqueue(database.db, 'tick', {}, { key: 'ticker' });
        assert.equal(await q.runOnce(), 1); // fails: retried with backoff
        clock.advance(60_000);
        assert.equal(await q.runOnce(), 1); // succeeds, asks to repeat
        const row = await database.db.selectFrom('jobs').selectAll().where('job_key', '=', 'ticker').executeTakeFirstOrThrow();
        assert.equal(row.state, 'queued');
        assert.equal(Number(row.attempts), 0);
        assert.equal(row.last_error, null);
        assert.equal(Number(row.run_at), clock.now() + 1000);
        assert.equal((await q.enqueue(database.db, 'tick', {}, { key: 'ticker' })).enqueued, false); // still the one live job
        assert.equal(await q.runOnce(), 0); // not due yet
        clock.advance(1000);
        assert.equal(await q.runOnce(), 1);
        clock.advance(1000);
        assert.equal(await q.runOnce(), 1); // the fourth run returns nothing: done
        assert.deepEqual(runs, [1, 2, 1, 1]);
        assert.deepEqual(await q.counts(), { queued: 0, running: 0, dead: 0 });
      }));
  });
}

