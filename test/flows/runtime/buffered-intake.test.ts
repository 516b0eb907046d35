import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scratchDatabase, TEST_DATABASES } from '../../support/databases.js';
import { eventually, getRun, startFlowHub, type FlowHub } from './support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;
const flowWith = (id: string, intake: string) => yaml([`id: ${id}`, `intake: ${intake}`, 'steps:', '  only: { subsystem: set, options: { values: { n: "{{ request.n }}" } } }']);
const BATCHED = flowWith('batched', '{ mode: batch, size: 3, everyMs: 60000 }');
const HOURLY = flowWith('hourly', '{ mode: cron, cron: "0 * * * *" }');

/** A clock that starts at `base` and can jump ahead. */
function movableClock(base: number) {
  const realStart = Date.now();
  const clock = { offset: 0, now: () => base + (Date.now() - realStart) + clock.offset };
  return clock;
}

const accept = async (f: FlowHub, flowId: string, n: number) => {
  const res = await f.call('POST', `/flows/${flowId}/requests`, { body: { n } });
  assert.equal(res.statusCode, 202, res.body);
  return res.json() as { runId: string; state: string };
};
const states = async (f: FlowHub, ids: string[]) => Promise.all(ids.map(async (id) => (await getRun(f, id)).state as string));
/** How the release started each run, from its flow.run.started event. */
async function releasedHow(f: FlowHub, runId: string): Promise<Record<string, unknown> | undefined> {
  const row = await f.hub.ctx.db.selectFrom('events').select('payload').where('topic', '=', 'flow.run.started').where('entity_id', '=', runId).executeTakeFirst();
  return row ? (JSON.parse(String(row.payload)).released as Record<string, unknown> | undefined) : undefined;
}
/** Long enough for the release task (which looks at least every second) to have had its chance. */
const releaseTaskHadItsTurn = () => new Promise((r) => setTimeout(r, 1300));

for (const kind of TEST_DATABASES) {
  describe(`flows: batch and cron intake (${kind})`, () => {
    it('batch: requests wait until size have come (the request completing a batch starts it at once), or until the oldest has waited everyMs', async () => {
      const clock = movableClock(Date.now());
      const f = await startFlowHub(kind, { files: { 'batched.yaml': BATCHED }, clock, jobs: { leaseMs: 3_600_000 } });
      try {
        const first = [await accept(f, 'batched', 1), await accept(f, 'batched', 2)];
        assert.deepEqual(first.map((r) => r.state), ['queued', 'queued']);
        await releaseTaskHadItsTurn();
        assert.deepEqual(await states(f, first.map((r) => r.runId)), ['queued', 'queued'], 'no batch before size or everyMs');
        const buffer = (await f.call('GET', '/flows/batched')).json().buffer;
        assert.equal(buffer.waiting, 2, 'GET /flows/:id shows what waits');
        assert.equal(buffer.oldestAcceptedAt, (await getRun(f, first[0]!.runId)).createdAt);
        assert.equal(buffer.nextReleaseAt, buffer.oldestAcceptedAt + 60_000, 'released when the oldest has waited everyMs');
        assert.match(buffer.releases, /1 more request\(s\) complete a batch of 3; else the oldest has waited everyMs/);

        const third = await accept(f, 'batched', 3);
        assert.equal(third.state, 'running', 'the third request completes the batch: it starts in its own request');
        const batch = [...first, third].map((r) => r.runId);
        await eventually('the whole batch ran', async () => (await states(f, batch)).every((s) => s === 'succeeded'));
        for (const id of batch) assert.deepEqual(await releasedHow(f, id), { intake: 'batch', trigger: 'size', batchSize: 3 });

        const late = await accept(f, 'batched', 4);
        assert.equal(late.state, 'queued');
        await releaseTaskHadItsTurn();
        assert.equal((await getRun(f, late.runId)).state, 'queued', 'alone, it waits for everyMs');
        clock.offset += 61_000;
        await eventually('everyMs started the partial batch', async () => (await getRun(f, late.runId)).state === 'succeeded');
        assert.deepEqual(await releasedHow(f, late.runId), { intake: 'batch', trigger: 'time', batchSize: 1 });
        assert.deepEqual((await getRun(f, late.runId)).steps[0].output, { n: 4 });
      } finally {
        await f.close();
      }
    });

    it('batch: waiting requests survive a restart and count toward the batch', async () => {
      const db = await scratchDatabase(kind);
      const dir = mkdtempSync(join(tmpdir(), 'conveyor-flows-'));
      try {
        const before = await startFlowHub(kind, { files: { 'batched.yaml': BATCHED }, reuse: { db, dir } });
        const waiting = [await accept(before, 'batched', 1), await accept(before, 'batched', 2)].map((r) => r.runId);
        await before.close();

        const after = await startFlowHub(kind, { files: { 'batched.yaml': BATCHED }, reuse: { db, dir } });
        try {
          assert.deepEqual(await states(after, waiting), ['queued', 'queued']);
          const third = await accept(after, 'batched', 3);
          assert.equal(third.state, 'running');
          await eventually('the batch made of requests from before and after the restart ran', async () =>
            (await states(after, [...waiting, third.runId])).every((s) => s === 'succeeded'),
          );
        } finally {
          await after.close();
        }
      } finally {
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('cron: requests wait for the next tick of the schedule; one accepted after a tick waits for the tick after', async () => {
      const clock = movableClock(Date.parse('2026-11-22T10:30:00Z'));
      const f = await startFlowHub(kind, { files: { 'hourly.yaml': HOURLY }, clock, jobs: { leaseMs: 3_600_000 } });
      try {
        const early = [await accept(f, 'hourly', 1), await accept(f, 'hourly', 2)];
        assert.deepEqual(early.map((r) => r.state), ['queued', 'queued']);
        await releaseTaskHadItsTurn();
        assert.deepEqual(await states(f, early.map((r) => r.runId)), ['queued', 'queued'], 'nothing starts before 11:00');
        const buffer = (await f.call('GET', '/flows/hourly')).json().buffer;
        assert.equal(buffer.waiting, 2);
        assert.equal(buffer.nextReleaseAt, Date.parse('2026-11-22T11:00:00Z'), 'GET /flows/:id says when the next tick releases them');
        assert.match(buffer.releases, /next tick of "0 \* \* \* \*" \(UTC\)/);

        clock.offset += 30 * 60_000; // past 11:00
        await eventually('the 11:00 tick started both', async () => (await states(f, early.map((r) => r.runId))).every((s) => s === 'succeeded'));
        for (const { runId } of early) assert.deepEqual(await releasedHow(f, runId), { intake: 'cron', tick: '2026-11-22T11:00:00.000Z' });

        const later = await accept(f, 'hourly', 3);
        assert.equal(later.state, 'queued');
        await releaseTaskHadItsTurn();
        assert.equal((await getRun(f, later.runId)).state, 'queued', 'accepted after 11:00, it waits for 12:00');
        clock.offset += 60 * 60_000;
        await eventually('the 12:00 tick started it', async () => (await getRun(f, later.runId)).state === 'succeeded');
        const empty = (await f.call('GET', '/flows/hourly')).json().buffer;
        assert.deepEqual([empty.waiting, empty.nextReleaseAt, empty.releases], [0, null, 'nothing is waiting']);
        assert.deepEqual(await releasedHow(f, later.runId), { intake: 'cron', tick: '2026-11-22T12:00:00.000Z' });
      } finally {
        await f.close();
      }
    });
  });
}
