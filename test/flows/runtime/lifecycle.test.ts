import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FlowLoadError } from '../../../src/flows/index.js';
import { scratchDatabase, TEST_DATABASES } from '../../support/databases.js';
import { eventually, getRun, runToEnd, startFlowHub } from './support.js';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;
const versioned = (v: number) => yaml(['id: pinned', 'steps:', `  first: { subsystem: set, options: { values: { v: ${v} } } }`]);
const RATED = yaml(['id: rated', 'intake: { mode: rate, limit: 2, perMs: 60000 }', 'steps:', '  only: { subsystem: set, options: { values: { n: "{{ request.n }}" } } }']);

for (const kind of TEST_DATABASES) {
  describe(`flows: loading, versions, restart, rate intake, retention (${kind})`, () => {
    it('a flow file with problems stops the hub, listing every problem of every file with its line', async () => {
      const bad = {
        'a.yaml': yaml(['id: a', 'steps:', '  one: { subsystem: no-such-module, next: [two] }']),
        'b.yaml': yaml(['id: b', 'steps:', '  one: { subsystem: set, conditon: [] }']),
        'c.yaml': yaml(['id: c', 'intake: { mode: cron, cron: "every five minutes" }', 'steps:', '  one: { subsystem: set }']),
        'good.yaml': versioned(1),
      };
      await assert.rejects(startFlowHub(kind, { files: bad }), (err: unknown) => {
        assert.ok(err instanceof FlowLoadError, String(err));
        const text = err.problems.join('\n');
        assert.match(text, /a\.yaml:3: steps\.one\.subsystem: unknown module "no-such-module"/);
        assert.match(text, /a\.yaml:3: steps\.one\.next\[0\]: unknown step "two"/);
        assert.match(text, /b\.yaml:3: steps\.one\.conditon: unknown key/);
        assert.match(text, /c\.yaml:\d+: intake\.cron: invalid schedule/);
        assert.equal(err.problems.length, 4, text);
        return true;
      });
    });

    it('an unchanged file keeps its version; a changed one gets the next; a run accepted before the change finishes on its version', async () => {
      const db = await scratchDatabase(kind);
      const dir = mkdtempSync(join(tmpdir(), 'conveyor-flows-'));
      try {
        // No workers: the run is accepted and durable, nothing runs it yet.
        const first = await startFlowHub(kind, { files: { 'pinned.yaml': versioned(1) }, jobs: { enabled: false }, reuse: { db, dir } });
        const accepted = await first.call('POST', '/flows/pinned/requests', { body: {} });
        assert.equal(accepted.statusCode, 202);
        assert.equal((await getRun(first, accepted.json().runId)).version, 1);
        await first.close();

        const same = await startFlowHub(kind, { files: { 'pinned.yaml': versioned(1) }, jobs: { enabled: false }, reuse: { db, dir } });
        assert.equal((await same.call('GET', '/flows/pinned')).json().version, 1, 'reloading the same file adds no version');
        await same.close();

        const changed = await startFlowHub(kind, { files: { 'pinned.yaml': versioned(2) }, reuse: { db, dir } });
        try {
          assert.equal((await changed.call('GET', '/flows/pinned')).json().version, 2);
          const { runId } = accepted.json();
          await eventually('the old run finished after the restart', async () => (await getRun(changed, runId)).state === 'succeeded');
          assert.deepEqual((await getRun(changed, runId)).steps[0].output, { v: 1 }, 'it ran on the version it was accepted on');
          const fresh = await runToEnd(changed, 'pinned', {});
          assert.equal(fresh.version, 2);
          assert.deepEqual(fresh.context.first, { v: 2 });
        } finally {
          await changed.close();
        }
      } finally {
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('rate intake: runs over the limit wait durably, in order, and start when the window allows', async () => {
      let offset = 0;
      const clock = { now: () => Date.now() + offset };
      const f = await startFlowHub(kind, { files: { 'rated.yaml': RATED }, clock, jobs: { leaseMs: 3_600_000 } });
      try {
        const ids: string[] = [];
        for (let n = 1; n <= 5; n++) {
          const res = await f.call('POST', '/flows/rated/requests', { body: { n } });
          assert.equal(res.statusCode, 202);
          ids.push(res.json().runId);
          assert.equal(res.json().state, n <= 2 ? 'running' : 'queued', `request ${n}`);
        }
        await eventually('the first two ran', async () => (await Promise.all(ids.slice(0, 2).map((id) => getRun(f, id)))).every((r) => r.state === 'succeeded'));
        const queued = (await f.call('GET', '/runs?flow=rated&state=queued')).json().runs.map((r: any) => r.runId);
        assert.deepEqual(queued.sort(), ids.slice(2).sort(), 'the excess is kept, not dropped');
        assert.equal((await getRun(f, ids[2]!)).startedAt, null);
        const buffer = (await f.call('GET', '/flows/rated')).json().buffer;
        const firstStart = Math.min(...(await Promise.all(ids.slice(0, 2).map(async (id) => (await getRun(f, id)).startedAt as number))));
        assert.equal(buffer.waiting, 3);
        assert.equal(buffer.nextReleaseAt, firstStart + 60_000, 'the next start fits when the first start leaves the window');

        offset += 61_000; // the window has passed: two more may start, the fifth waits for the next window
        await eventually('two more ran', async () => (await Promise.all(ids.slice(2, 4).map((id) => getRun(f, id)))).every((r) => r.state === 'succeeded'));
        assert.equal((await getRun(f, ids[4]!)).state, 'queued');
        offset += 61_000;
        await eventually('the last ran', async () => (await getRun(f, ids[4]!)).state === 'succeeded');
        const started = await Promise.all(ids.map(async (id) => (await getRun(f, id)).startedAt as number));
        assert.deepEqual([...started].sort((a, b) => a - b), started, 'started in the order they were accepted');
      } finally {
        await f.close();
      }
    });

    it('retention: a daily task deletes ended runs older than flows.retentionDays with their steps; newer ones stay', async () => {
      let offset = 0;
      const clock = { now: () => Date.now() + offset };
      const f = await startFlowHub(kind, { files: { 'pinned.yaml': versioned(1) }, clock, flows: { retentionDays: 2 }, jobs: { leaseMs: 3_600_000 } });
      try {
        const old = await runToEnd(f, 'pinned', {});
        offset += 3 * 86_400_000;
        const recent = await runToEnd(f, 'pinned', {});
        // Three days later the daily prune task has had a tick (04:29 UTC) to fire on.
        await eventually('the daily prune task removed the old run', async () => (await f.call('GET', `/runs/${old.runId}`)).statusCode === 404);
        assert.equal(await f.hub.flows.prune(), 0, 'nothing else is old enough');
        assert.equal((await f.call('GET', `/runs/${recent.runId}`)).statusCode, 200);
        const leftSteps = await f.hub.ctx.db.selectFrom('flow_steps').select('run_id').execute();
        assert.deepEqual([...new Set(leftSteps.map((r) => r.run_id))], [recent.runId]);
      } finally {
        await f.close();
      }
    });

    it('a plugin can add local modules (export flowModules) that flows then use', async () => {
      const pluginDir = mkdtempSync(join(tmpdir(), 'conveyor-plugin-'));
      const plugin = join(pluginDir, 'greet.mjs');
      writeFileSync(plugin, "export const flowModules = [{ name: 'greet', run: (input) => ({ hello: input.name }) }];\n");
      const f = await startFlowHub(kind, {
        files: { 'greet.yaml': yaml(['id: greet', 'steps:', '  hi: { subsystem: greet, input: { name: request.name } }']) },
        plugins: [plugin],
      });
      try {
        const out = await runToEnd(f, 'greet', { name: 'Anna' });
        assert.deepEqual(out.context.hi, { hello: 'Anna' });
      } finally {
        await f.close();
        rmSync(pluginDir, { recursive: true, force: true });
      }
    });
  });
}
