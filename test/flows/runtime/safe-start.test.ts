// Safe steps first (flows.safeStepsFirst): a request that waits (?wait) runs the first steps of its flow
// whose modules are safe before anything is written, and the run is written once with their history.
// What must hold: a module that is not safe is only ever called for a run already written (with the
// safe steps before it recorded); a run that ends among safe steps is written whole, with both its
// events; failures, retries, the context limit, parallel branches and Idempotency-Key behave as on the
// usual path; without ?wait, or with the setting at 0, nothing changes.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { localTransport, StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { httpRequestModule } from '../../../src/flows/modules/http-request.js';
import { createModuleDirectory } from '../../../src/flows/runtime/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { getRun, runToEnd, startFlowHub, type FlowHub } from './support.js';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;

interface Seen {
  step: string;
  key: string;
  attempt: number;
  /** The run row existed when the module was called. */
  written: boolean;
  /** History records of the run at the time. */
  recorded: number;
}

const FLOWS = {
  'all-safe.yaml': yaml(['id: all-safe', 'steps:', '  a: { subsystem: lookup, next: [b] }', '  b: { subsystem: lookup, next: [c] }', '  c: { subsystem: lookup }']),
  'mixed.yaml': yaml(['id: mixed', 'steps:', '  a: { subsystem: lookup, next: [write] }', '  write: { subsystem: effect, next: [c] }', '  c: { subsystem: lookup }']),
  'fork.yaml': yaml(['id: fork', 'steps:', '  a: { subsystem: lookup, next: [b, write] }', '  b: { subsystem: lookup }', '  write: { subsystem: effect }']),
  'failing.yaml': yaml(['id: failing', 'steps:', '  a: { subsystem: lookup, next: [bad] }', '  bad: { subsystem: refusing, next: [c] }', '  c: { subsystem: lookup }']),
  'flaky.yaml': yaml(['id: flaky', 'steps:', '  a: { subsystem: lookup, next: [shaky] }', '  shaky: { subsystem: busy-once, retry: { attempts: 3, backoffMs: 10 }, next: [c] }', '  c: { subsystem: lookup }']),
  'big.yaml': yaml(['id: big', 'steps:', '  a: { subsystem: bulky, next: [b] }', '  b: { subsystem: bulky, next: [c] }', '  c: { subsystem: bulky }']),
  'effect-first.yaml': yaml(['id: effect-first', 'steps:', '  write: { subsystem: effect, next: [a] }', '  a: { subsystem: lookup }']),
};

/** Test modules that note, at each call, whether the run was written yet and how many records it had. */
function modules(ref: { f?: FlowHub }, seen: Seen[]): LocalModule[] {
  async function note(step: string, call: { runId: string; idempotencyKey: string; attempt: number }): Promise<Seen> {
    const db = ref.f!.hub.ctx.db;
    const run = await db.selectFrom('flow_runs').select('id').where('id', '=', call.runId).executeTakeFirst();
    const rows = await db.selectFrom('flow_steps').select('id').where('run_id', '=', call.runId).execute();
    const s = { step, key: call.idempotencyKey, attempt: call.attempt, written: run !== undefined, recorded: rows.length };
    seen.push(s);
    return s;
  }
  const busy = new Set<string>();
  return [
    { name: 'lookup', safe: true, run: async (_input, call) => ({ found: (await note(call.stepId, call)).step }) },
    { name: 'effect', run: async (_input, call) => ({ wrote: (await note(call.stepId, call)).recorded }) },
    {
      name: 'refusing',
      safe: true,
      run: async (_input, call) => {
        await note(call.stepId, call);
        throw new StepFailure('NOT_ALLOWED', 'this lookup refuses', false);
      },
    },
    {
      name: 'busy-once',
      safe: true,
      run: async (_input, call) => {
        await note(call.stepId, call);
        if (!busy.has(call.idempotencyKey)) {
          busy.add(call.idempotencyKey);
          throw new StepFailure('BUSY', 'try again', true);
        }
        return { ok: true };
      },
    },
    { name: 'bulky', safe: true, run: async (_input, call) => ({ step: (await note(call.stepId, call)).step, pad: 'x'.repeat(500) }) },
  ];
}

async function withHub(kind: 'sqlite' | 'postgres', flows: Record<string, unknown>, test: (f: FlowHub, seen: Seen[]) => Promise<void>, files: Record<string, string> = {}): Promise<void> {
  const seen: Seen[] = [];
  const ref: { f?: FlowHub } = {};
  const f = (ref.f = await startFlowHub(kind, { files: { ...FLOWS, ...files }, modules: modules(ref, seen), flows }));
  try {
    await test(f, seen);
  } finally {
    await f.close();
  }
}

async function history(f: FlowHub, runId: string): Promise<[string, number, number, string][]> {
  const steps = (await getRun(f, runId)).steps as Record<string, any>[];
  return steps.map((s) => [s.stepId, s.seq, s.attempt, s.state]);
}

async function topics(f: FlowHub, runId: string): Promise<string[]> {
  const rows = await f.hub.ctx.db.selectFrom('events').select('topic').where('entity_id', '=', runId).orderBy('id').execute();
  return rows.map((r) => String(r.topic));
}

/** The step jobs of a run left in the queue (none once it ended). */
async function jobsOf(f: FlowHub, runId: string): Promise<number> {
  const rows = await f.hub.ctx.db.selectFrom('jobs').select('id').where('job_key', 'like', `${runId}:%`).execute();
  return rows.length;
}

for (const kind of TEST_DATABASES) {
  describe(`flows: safe steps first (${kind})`, () => {
    it('a waiting request of safe steps only: they run before any write, and the run is written once, whole, with both events', async () => {
      await withHub(kind, {}, async (f, seen) => {
        const run = await runToEnd(f, 'all-safe', { n: 1 });
        assert.equal(run.state, 'succeeded');
        assert.deepEqual(run.context.c, { found: 'c' });
        assert.deepEqual(seen.map((s) => [s.step, s.written, s.recorded]), [['a', false, 0], ['b', false, 0], ['c', false, 0]]);
        assert.deepEqual(seen.map((s) => s.key), ['a:1', 'b:2', 'c:3'].map((k) => `${run.runId}:${k}`));
        assert.deepEqual(await history(f, run.runId), [['a', 1, 1, 'succeeded'], ['b', 2, 1, 'succeeded'], ['c', 3, 1, 'succeeded']]);
        const detail = await getRun(f, run.runId);
        assert.equal(detail.state, 'succeeded');
        assert.equal(detail.liveBranches, 0);
        assert.ok(detail.finishedAt >= detail.startedAt);
        assert.deepEqual(await topics(f, run.runId), ['flow.run.started', 'flow.run.succeeded']);
        assert.equal(await jobsOf(f, run.runId), 0);
      });
    });

    it('without ?wait, or with flows.safeStepsFirst 0, the run is written before its first step as usual', async () => {
      await withHub(kind, {}, async (f, seen) => {
        const res = await f.call('POST', '/flows/all-safe/requests', { body: { n: 2 } });
        assert.equal(res.statusCode, 202);
        const runId = res.json().runId as string;
        const ended = await f.call('POST', `/flows/all-safe/requests?wait=20000`, { body: { n: 2 }, headers: { 'idempotency-key': 'k-2' } });
        assert.equal(ended.statusCode, 200);
        await runToEnd(f, 'all-safe', { n: 3 }); // a waiting one in the same hub: unwritten when called
        const first = seen.filter((s) => s.key.startsWith(runId));
        assert.deepEqual(first.map((s) => s.written), [true, true, true]);
      });
      await withHub(kind, { safeStepsFirst: 0 }, async (f, seen) => {
        const run = await runToEnd(f, 'all-safe', { n: 4 });
        assert.equal(run.state, 'succeeded');
        assert.deepEqual(seen.map((s) => s.written), [true, true, true]);
      });
    });

    it('a step that is not safe runs only once the run is written, with the safe steps before it recorded', async () => {
      await withHub(kind, {}, async (f, seen) => {
        const run = await runToEnd(f, 'mixed', { n: 5 });
        assert.equal(run.state, 'succeeded');
        assert.deepEqual(seen.map((s) => [s.step, s.written, s.recorded]), [['a', false, 0], ['write', true, 1], ['c', true, 1]]);
        assert.deepEqual(run.context.write, { wrote: 1 });
        assert.deepEqual(await history(f, run.runId), [['a', 1, 1, 'succeeded'], ['write', 2, 1, 'succeeded'], ['c', 3, 1, 'succeeded']]);
        assert.deepEqual(await topics(f, run.runId), ['flow.run.started', 'flow.run.succeeded']);

        // A flow that starts with a step that is not safe takes the usual way.
        const plain = await runToEnd(f, 'effect-first', { n: 6 });
        assert.equal(plain.state, 'succeeded');
        assert.deepEqual(seen.filter((s) => s.key.startsWith(plain.runId)).map((s) => [s.step, s.written]), [['write', true], ['a', true]]);
      });
    });

    it('parallel branches after the safe steps: written with the run, each branch runs on, the run succeeds once both end', async () => {
      await withHub(kind, {}, async (f, seen) => {
        const run = await runToEnd(f, 'fork', { n: 7 });
        assert.equal(run.state, 'succeeded');
        const mine = seen.filter((s) => s.key.startsWith(run.runId));
        assert.deepEqual(mine.find((s) => s.step === 'a'), { step: 'a', key: `${run.runId}:a:1`, attempt: 1, written: false, recorded: 0 });
        assert.deepEqual(mine.filter((s) => s.step !== 'a').map((s) => s.written), [true, true]);
        assert.deepEqual((await history(f, run.runId)).map(([step, seq]) => `${step}:${seq}`).sort(), ['a:1', 'b:2', 'write:3']);
        assert.equal((await getRun(f, run.runId)).liveBranches, 0);
      });
    });

    it('a safe step that fails is recorded on the usual way: a refusal fails the run, a retryable error retries under the same key', async () => {
      await withHub(kind, {}, async (f, seen) => {
        const failed = await runToEnd(f, 'failing', { n: 8 });
        assert.equal(failed.state, 'failed');
        assert.deepEqual(failed.error, { step: 'bad', code: 'NOT_ALLOWED', message: 'this lookup refuses' });
        assert.deepEqual(await history(f, failed.runId), [['a', 1, 1, 'succeeded'], ['bad', 2, 1, 'failed']]);
        assert.deepEqual(seen.filter((s) => s.key.startsWith(failed.runId)).map((s) => s.step), ['a', 'bad'], 'the refusing step was called once');
        assert.deepEqual(await topics(f, failed.runId), ['flow.run.started', 'flow.run.failed']);

        const retried = await runToEnd(f, 'flaky', { n: 9 });
        assert.equal(retried.state, 'succeeded');
        assert.deepEqual(await history(f, retried.runId), [
          ['a', 1, 1, 'succeeded'],
          ['shaky', 2, 1, 'retrying'],
          ['shaky', 2, 2, 'succeeded'],
          ['c', 3, 1, 'succeeded'],
        ]);
        const shaky = seen.filter((s) => s.step === 'shaky');
        assert.deepEqual(shaky.map((s) => [s.key, s.attempt, s.written]), [[`${retried.runId}:shaky:2`, 1, false], [`${retried.runId}:shaky:2`, 2, true]]);
      });
    });

    it('safe outputs past flows.contextBytes: the run is written failed (CONTEXT_TOO_LARGE) with the steps that ran', async () => {
      await withHub(kind, { contextBytes: 1024 }, async (f) => {
        const run = await runToEnd(f, 'big', { n: 10 });
        assert.equal(run.state, 'failed');
        assert.equal(run.error.code, 'CONTEXT_TOO_LARGE');
        assert.equal(run.error.step, 'b', 'the step whose output crossed the limit');
        assert.deepEqual(await history(f, run.runId), [['a', 1, 1, 'succeeded'], ['b', 2, 1, 'succeeded']]);
        assert.deepEqual(await topics(f, run.runId), ['flow.run.started', 'flow.run.failed']);
      });
    });

    it('the same Idempotency-Key twice at once: one run, the other request answered with it as a duplicate', async () => {
      await withHub(kind, {}, async (f) => {
        const send = () => f.call('POST', '/flows/all-safe/requests?wait=20000', { body: { n: 11 }, headers: { 'idempotency-key': 'same-key' } });
        const answers = await Promise.all([send(), send(), send()]);
        assert.deepEqual(answers.map((a) => a.statusCode), [200, 200, 200]);
        const bodies = answers.map((a) => a.json());
        assert.equal(new Set(bodies.map((b) => b.runId)).size, 1, 'one run');
        assert.deepEqual(bodies.map((b) => b.duplicate).sort(), [false, true, true]);
        assert.ok(bodies.every((b) => b.state === 'succeeded' && b.context.c.found === 'c'));
        const runs = await f.hub.ctx.db.selectFrom('flow_runs').select('id').where('idempotency_key', '=', 'same-key').execute();
        assert.equal(runs.length, 1);
      });
    });

    it('http-request is safe only as a GET or HEAD whose step says safe: true', async () => {
      // A real HTTP server noting, per call, its method and whether the run (from the Idempotency-Key) was written yet.
      const calls: { method: string; step: string; written: boolean }[] = [];
      const ref: { f?: FlowHub } = {};
      const server = createServer((req, res) => {
        const [runId, step] = String(req.headers['idempotency-key']).split(':');
        void ref.f!.hub.ctx.db.selectFrom('flow_runs').select('id').where('id', '=', runId!).executeTakeFirst().then((run) => {
          calls.push({ method: req.method!, step: step!, written: run !== undefined });
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ deal: 42 }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/deals`;
      const flow = (id: string, options: string) => yaml([`id: ${id}`, 'steps:', `  fetch: { subsystem: http-request, options: { url: "${url}", ${options} }, next: [a] }`, '  a: { subsystem: lookup }']);
      const files = {
        'get-safe.yaml': flow('get-safe', 'safe: true'),
        'head-safe.yaml': flow('head-safe', 'method: HEAD, safe: true'),
        'get-plain.yaml': flow('get-plain', 'method: GET'),
      };
      try {
        await withHub(
          kind,
          {},
          async (f, seen) => {
            ref.f = f;
            const get = await runToEnd(f, 'get-safe', { n: 12 });
            assert.equal(get.state, 'succeeded');
            assert.deepEqual(get.context.fetch, { status: 200, body: { deal: 42 } });
            assert.equal((await runToEnd(f, 'head-safe', { n: 13 })).state, 'succeeded');
            assert.equal((await runToEnd(f, 'get-plain', { n: 14 })).state, 'succeeded');
            assert.deepEqual(calls.map((c) => [c.method, c.written]), [['GET', false], ['HEAD', false], ['GET', true]]);
            assert.deepEqual(seen.map((s) => s.written), [false, false, true], 'the lookup after it goes the same way');

            // A flow saying so is refused at load (validation.test.ts); a step given such options anyway
            // (a flow version stored before the check) fails before anything is sent.
            const post = await localTransport(httpRequestModule).call(
              { runId: 'r', flowId: 'f', flowVersion: 1, stepId: 's', module: 'http-request', attempt: 1, idempotencyKey: 'r:s:1', input: {}, options: { url, method: 'POST', safe: true }, deadline: Date.now() + 5000 },
              new AbortController().signal,
            );
            assert.equal(!post.ok && post.error.code, 'BAD_OPTIONS');
            assert.match(!post.ok ? post.error.message : '', /options\.safe is for GET and HEAD only: a POST changes things/);
            assert.equal(calls.length, 3, 'the POST was never sent');
          },
          files,
        );
      } finally {
        server.close();
      }
    });
  });
}

describe('flows: which modules are safe', () => {
  it('a local module by its own `safe`, a remote one by flows.modules.<name>.safe; nothing else', () => {
    const remote = new Map([
      ['remote-read', { kind: 'queue' as const, call: async () => ({ ok: true as const, output: null }) }],
      ['remote-write', { kind: 'http' as const, call: async () => ({ ok: true as const, output: null }) }],
    ]);
    const dir = createModuleDirectory([{ name: 'read', safe: true, run: () => null }, { name: 'write', run: () => null }, httpRequestModule], remote, new Set(['remote-read', 'not-configured']));
    assert.deepEqual(
      ['read', 'write', 'remote-read', 'remote-write', 'not-configured'].map((m) => dir.isSafe(m)),
      [true, false, true, false, false],
    );
    // A module deciding per step: http-request, from the step's options.
    const http = (options?: Record<string, unknown>) => dir.isSafe('http-request', options);
    assert.deepEqual(
      [http(), http({ safe: true }), http({ safe: true, method: 'head' }), http({ safe: true, method: 'POST' }), http({ method: 'GET' }), http({ safe: 'yes' })],
      [false, true, true, false, false, false],
    );
  });
});
