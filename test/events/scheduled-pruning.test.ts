import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHub, type Hub } from '../../src/hub.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { PRUNE_EVENTS_TASK, type ManagedEventBus, type NewEvent } from '../../src/platform/events/index.js';
import { createLogger } from '../../src/platform/logging/index.js';
import { scratchDatabase, TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { clientEvent, consumerRow, sleep, waitFor } from './support.js';

// The hub's own schedule prunes the outbox: time is moved with the hub's injectable clock (real time
// plus an offset, so timers and backoff still run), and the test waits for the job to do its work.

const DAY = 86_400_000;

/** A clock the test moves forward; real time still passes underneath. */
function offsetClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
}

/** An info logger that keeps every line. */
function keptLog() {
  const lines: { msg: string; pruned?: number; batches?: number; schedule?: string }[] = [];
  return { log: createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

const busOf = (hub: Hub) => hub.ctx.events as ManagedEventBus;

async function publish(hub: Hub, events: NewEvent[]): Promise<void> {
  await hub.ctx.db.transaction().execute(async (trx) => {
    for (const e of events) await hub.ctx.events.publish(trx, e);
  });
  hub.ctx.events.poke();
}

async function eventIds(hub: Hub): Promise<number[]> {
  return (await hub.ctx.db.selectFrom('events').select('id').orderBy('id').execute()).map((r) => Number(r.id));
}

/** Publishes the events and returns their ids. */
async function publishIds(hub: Hub, events: NewEvent[]): Promise<number[]> {
  const before = new Set(await eventIds(hub));
  await publish(hub, events);
  return (await eventIds(hub)).filter((id) => !before.has(id));
}

async function checkpoint(hub: Hub, name: string): Promise<number> {
  return Number((await consumerRow(hub.ctx.db, name))?.last_event_id ?? -1);
}

async function prunedCounter(t: TestHub): Promise<string | undefined> {
  const res = await t.call('GET', '/metrics');
  assert.equal(res.statusCode, 200);
  return res.body.split('\n').find((l) => l.startsWith('conveyor_events_pruned_total '));
}

const clientEvents = (n: number) => Array.from({ length: n }, (_, i) => clientEvent(i));

for (const kind of TEST_DATABASES) {
  describe(`scheduled outbox pruning in a running hub (${kind})`, () => {
    it('an hourly job deletes delivered events older than events.retentionDays, a backlog bigger than one batch included; undelivered and recent events stay', async () => {
      const clock = offsetClock();
      const kept = keptLog();
      const t = await startTestHub(kind, { clock, log: kept.log, config: { events: { retentionDays: 7 }, jobs: { enabled: true } } });
      try {
        const bus = busOf(t.hub);
        bus.subscribe('reader', async () => {});
        bus.subscribe('stuck', async () => Promise.reject(new Error('poison')), { topics: ['stuck.*'] });
        await t.hub.startBackground();

        // More than one batch (1000) of old events that both subscribers pass.
        const backlog = await publishIds(t.hub, clientEvents(2100));
        const lastOld = Math.max(...backlog);
        await waitFor('both subscribers passed the backlog', async () => (await checkpoint(t.hub, 'reader')) >= lastOld && (await checkpoint(t.hub, 'stuck')) >= lastOld, 15_000);
        // "stuck" fails on the next event and waits there: it and what follows are not delivered to it.
        const undelivered = await publishIds(t.hub, [{ topic: 'stuck.x', entityType: 'client', entityId: 1, payload: {} }, ...clientEvents(5)]);
        await waitFor('stuck fails', async () => Number((await consumerRow(t.hub.ctx.db, 'stuck'))?.failures ?? 0) > 0);

        clock.advance(8 * DAY);
        const recent = await publishIds(t.hub, clientEvents(3));
        await waitFor('reader had everything', async () => (await checkpoint(t.hub, 'reader')) >= Math.max(...recent));

        await waitFor('the scheduled job pruned the backlog', async () => (await eventIds(t.hub)).length === undelivered.length + recent.length, 15_000);
        assert.deepEqual(await eventIds(t.hub), [...undelivered, ...recent]);
        assert.ok((await checkpoint(t.hub, 'stuck')) < Math.min(...undelivered), 'stuck is still before its undelivered events');

        const logged = kept.lines.filter((l) => l.pruned !== undefined);
        assert.equal(logged.length, 1, JSON.stringify(logged));
        assert.equal(logged[0]!.pruned, 2100);
        assert.equal(logged[0]!.batches, 3, '1000 + 1000 + 100');
        assert.equal(await prunedCounter(t), 'conveyor_events_pruned_total 2100');
      } finally {
        await t.close();
      }
    });

    it('events.pruneBatchSize sets how many events each of the job\'s deletes takes', async () => {
      const clock = offsetClock();
      const kept = keptLog();
      const t = await startTestHub(kind, { clock, log: kept.log, config: { events: { retentionDays: 7, pruneBatchSize: 500 }, jobs: { enabled: true } } });
      try {
        busOf(t.hub).subscribe('reader', async () => {});
        await t.hub.startBackground();
        const ids = await publishIds(t.hub, clientEvents(1200));
        await waitFor('reader had everything', async () => (await checkpoint(t.hub, 'reader')) >= Math.max(...ids), 15_000);
        clock.advance(8 * DAY);
        await waitFor('the scheduled job pruned them', async () => (await eventIds(t.hub)).length === 0, 15_000);
        const logged = kept.lines.filter((l) => l.pruned !== undefined);
        assert.deepEqual(logged.map((l) => [l.pruned, l.batches]), [[1200, 3]], '500 + 500 + 200');
      } finally {
        await t.close();
      }
    });

    it('events.retentionDays: 0 keeps every event: the hourly job runs and deletes nothing', async () => {
      const clock = offsetClock();
      const t = await startTestHub(kind, { clock, config: { events: { retentionDays: 0 }, jobs: { enabled: true } } });
      try {
        const bus = busOf(t.hub);
        bus.subscribe('reader', async () => {});
        await t.hub.startBackground();
        const ids = await publishIds(t.hub, clientEvents(10));
        await waitFor('reader had everything', async () => (await checkpoint(t.hub, 'reader')) >= Math.max(...ids));

        const jumpedFrom = clock.now();
        clock.advance(30 * DAY);
        await waitFor('an events.prune tick was enqueued and its job ran', async () => {
          const tick = await t.hub.ctx.db.selectFrom('cron_state').select('last_fire_at').where('name', '=', PRUNE_EVENTS_TASK).executeTakeFirst();
          const queued = await t.hub.ctx.db.selectFrom('jobs').select('id').where('task', '=', PRUNE_EVENTS_TASK).execute();
          return Number(tick?.last_fire_at ?? 0) > jumpedFrom && queued.length === 0;
        });
        assert.deepEqual(await eventIds(t.hub), ids);
        assert.equal(await prunedCounter(t), 'conveyor_events_pruned_total 0');
      } finally {
        await t.close();
      }
    });
  });
}

if (TEST_DATABASES.includes('postgres')) {
  describe('scheduled outbox pruning with two hub processes on one PostgreSQL database', () => {
    it('one process enqueues and runs each tick', async () => {
      const scratch = await scratchDatabase('postgres');
      const clock = offsetClock();
      const hubs: Hub[] = [];
      const logs = [keptLog(), keptLog()];
      try {
        for (const kept of logs) {
          const config = loadConfig({
            env: {},
            overrides: { database: { url: scratch.url, poolSize: 5 }, auth: { passwordHashCost: 10 }, demo: { seed: false }, jobs: { pollIntervalMs: 20 }, events: { retentionDays: 7 } },
          });
          const hub = await createHub(config, { clock, log: kept.log });
          hubs.push(hub);
          busOf(hub).subscribe('reader', async () => {});
          await hub.startBackground();
        }
        const ids = await publishIds(hubs[0]!, clientEvents(30));
        await waitFor('reader had everything', async () => (await checkpoint(hubs[0]!, 'reader')) >= Math.max(...ids));

        clock.advance(8 * DAY);
        await waitFor('pruned', async () => (await eventIds(hubs[0]!)).length === 0, 15_000);
        await sleep(300); // time for a second process to (wrongly) fire the same tick

        const lines = logs.flatMap((k) => k.lines);
        assert.equal(lines.filter((l) => l.schedule === PRUNE_EVENTS_TASK && /cron tick enqueued/.test(l.msg)).length, 1);
        const pruned = lines.filter((l) => l.pruned !== undefined);
        assert.deepEqual(pruned.map((l) => l.pruned), [30]);
      } finally {
        for (const hub of hubs) await hub.close();
        await scratch.drop();
      }
    });
  });
}
