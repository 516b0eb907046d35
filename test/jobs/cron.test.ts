import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { latestTick } from '../../src/platform/jobs/cron.js';
import { retryDelayMs } from '../../src/platform/jobs/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { withJobsDb } from './support.js';

const at = (iso: string) => Date.parse(iso);

describe('cron and backoff arithmetic', () => {
  it('latestTick collapses missed ticks into the most recent one', () => {
    const hourly = new Cron('0 * * * *', { timezone: 'UTC', paused: true });
    assert.equal(latestTick(hourly, at('2024-01-01T00:00:00Z'), at('2024-01-02T05:30:00Z')), at('2024-01-02T05:00:00Z'));
    assert.equal(latestTick(hourly, at('2024-01-02T05:00:00Z'), at('2024-01-02T05:59:59Z')), null);
    const everySecond = new Cron('* * * * * *', { timezone: 'UTC', paused: true });
    assert.equal(latestTick(everySecond, at('2023-01-01T00:00:00Z'), at('2024-01-01T00:00:00.500Z')), at('2024-01-01T00:00:00Z'));
    const yearly = new Cron('0 0 1 1 *', { timezone: 'UTC', paused: true });
    assert.equal(latestTick(yearly, at('2020-06-01T00:00:00Z'), at('2024-06-01T00:00:00Z')), at('2024-01-01T00:00:00Z'));
  });

  it('retry delays use full jitter under an exponential, capped ceiling', () => {
    assert.equal(retryDelayMs(1, 1000, 3_600_000, () => 0), 0);
    assert.equal(retryDelayMs(1, 1000, 3_600_000, () => 0.5), 500);
    assert.equal(retryDelayMs(4, 1000, 3_600_000, () => 0.5), 4000);
    assert.equal(retryDelayMs(40, 1000, 3_600_000, () => 0.5), 1_800_000);
    assert.equal(retryDelayMs(10_000, 1000, 3_600_000, () => 0.999_999), 3_599_996);
  });
});

for (const kind of TEST_DATABASES) {
  describe(`jobs on ${kind}`, () => {
    it('a cron tick is enqueued exactly once across two queues sharing the database', () =>
      withJobsDb(kind, async ({ database, clock, queue, connect }) => {
        clock.set(at('2024-01-01T00:00:30Z'));
        // PostgreSQL: separate pools, as separate processes would have. SQLite is one writer per
        // process, so in-process queues share its single connection.
        const other = kind === 'postgres' ? connect() : database;
        const a = queue({}, 'A');
        const b = queue({}, 'B', other);
        const runs: string[] = [];
        for (const [name, q] of [['A', a], ['B', b]] as const) {
          q.defineTask('report', async (payload, job) => void runs.push(`${name}:${job.key}:${JSON.stringify(payload)}`));
          q.schedule('minute-report', '* * * * *', 'report', { kind: 'daily' });
        }
        const both = async () => (await Promise.all([a.fireSchedules(), b.fireSchedules()])).reduce((x, y) => x + y, 0);

        assert.equal(await both(), 0, 'no tick before the schedule first existed');
        for (let minute = 1; minute <= 5; minute++) {
          clock.set(at(`2024-01-01T00:0${minute}:00Z`));
          assert.equal(await both(), 1, `minute ${minute}`);
          assert.equal(await both(), 0, 'the same tick never fires twice');
        }
        const keys = (await database.db.selectFrom('jobs').select('job_key').orderBy('id').execute()).map((r) => r.job_key);
        assert.deepEqual(keys, [1, 2, 3, 4, 5].map((m) => `cron:minute-report:${at(`2024-01-01T00:0${m}:00Z`)}`));
        await Promise.all([a.runOnce(), b.runOnce()]);
        await Promise.all([a.runOnce(), b.runOnce()]);
        assert.equal(runs.length, 5);
        assert.ok(runs.every((r) => r.endsWith(':{"kind":"daily"}')));

        // Everything was down for 3 hours: one catch-up tick, not 180.
        clock.set(at('2024-01-01T03:05:30Z'));
        assert.equal(await both(), 1);
        assert.equal(await both(), 0);
        const last = await database.db.selectFrom('cron_state').selectAll().executeTakeFirstOrThrow();
        assert.equal(last.last_fire_at, at('2024-01-01T03:05:00Z'));
        assert.equal((await a.counts()).queued, 1);
      }));

    it('runOnce fires due ticks and runs them; a bad pattern throws at schedule()', () =>
      withJobsDb(kind, async ({ clock, queue }) => {
        clock.set(at('2024-01-01T00:59:59Z'));
        const q = queue();
        let ran = 0;
        q.defineTask('hourly', async () => void ran++);
        q.schedule('hourly', '0 * * * *', 'hourly');
        assert.throws(() => q.schedule('broken', 'every day', 'hourly'), /five or six/);
        assert.equal(await q.runOnce(), 0);
        clock.advance(1000);
        assert.equal(await q.runOnce(), 1);
        assert.equal(ran, 1);
      }));
  });
}
