// Stretches (flows.stepCommit): the steps that follow one another in a run with one live branch are
// recorded in one commit. What users see: every step keeps its own history record (seq, attempt,
// timings, output); history lags by at most maxSteps steps; a step that fails, retries, waits or
// takes an error route inside a stretch is handled exactly as on its own; and modules see each
// activation's idempotency key once per try.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { runToEnd, startFlowHub, type FlowHub } from './support.js';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;

/** A straight line of `n` steps s1 → s2 → … each run by `module`. */
const line = (id: string, n: number, module: string, extra: Record<number, string> = {}) =>
  yaml([
    `id: ${id}`,
    'steps:',
    ...Array.from({ length: n }, (_, i) => `  s${i + 1}: { subsystem: ${extra[i + 1] ?? module}${i + 1 < n ? `, next: [s${i + 2}]` : ''} }`),
  ]);

interface Seen {
  step: string;
  key: string;
  attempt: number;
  /** History records of the run committed when the call was made. */
  recorded: number;
}

/** Answers with what it saw, including how many of the run's records were committed at the time. */
function probe(hubRef: { f?: FlowHub }, seen: Seen[]): LocalModule {
  return {
    name: 'probe',
    async run(_input, call) {
      const rows = await hubRef.f!.hub.ctx.db.selectFrom('flow_steps').select('id').where('run_id', '=', call.runId).execute();
      seen.push({ step: call.stepId, key: call.idempotencyKey, attempt: call.attempt, recorded: rows.length });
      return { step: call.stepId, recorded: rows.length };
    },
  };
}

/** Fails the first try of each activation (retryable, or not), then succeeds. */
function flaky(retryable: boolean, seen: Seen[]): LocalModule {
  const tried = new Set<string>();
  return {
    name: retryable ? 'flaky' : 'broken',
    run(_input, call) {
      seen.push({ step: call.stepId, key: call.idempotencyKey, attempt: call.attempt, recorded: -1 });
      if (!tried.has(call.idempotencyKey)) {
        tried.add(call.idempotencyKey);
        throw new StepFailure(retryable ? 'BUSY' : 'REFUSED', `first try of ${call.stepId} fails`, retryable);
      }
      return { step: call.stepId, ok: true };
    },
  };
}

async function steps(f: FlowHub, runId: string): Promise<Record<string, any>[]> {
  return (await f.call('GET', `/runs/${runId}?stepLimit=500`)).json().steps;
}

for (const kind of TEST_DATABASES) {
  describe(`flows: stretches of steps recorded in one commit (${kind})`, () => {
    it('seven steps with maxSteps 3 commit after steps 3, 6 and 7; every step has its own record, seq and key', async () => {
      const seen: Seen[] = [];
      const ref: { f?: FlowHub } = {};
      const f = (ref.f = await startFlowHub(kind, { files: { 'line.yaml': line('line', 7, 'probe') }, modules: [probe(ref, seen)], flows: { stepCommit: { maxSteps: 3 } } }));
      try {
        const run = await runToEnd(f, 'line', {});
        assert.equal(run.state, 'succeeded');
        assert.deepEqual(seen.map((s) => s.recorded), [0, 0, 0, 3, 3, 3, 6], 'history lags by at most maxSteps steps');
        assert.deepEqual(seen.map((s) => s.key), [1, 2, 3, 4, 5, 6, 7].map((k) => `${run.runId}:s${k}:${k}`));
        const history = await steps(f, run.runId);
        assert.deepEqual(history.map((s) => [s.stepId, s.seq, s.attempt, s.state]), [1, 2, 3, 4, 5, 6, 7].map((k) => [`s${k}`, k, 1, 'succeeded']));
        for (const [i, s] of history.entries()) {
          assert.deepEqual(s.output, { step: `s${i + 1}`, recorded: seen[i]!.recorded });
          assert.ok(s.finishedAt >= s.startedAt && (i === 0 || s.startedAt >= history[i - 1]!.finishedAt), `s${i + 1} keeps its own timings`);
        }
        assert.deepEqual(run.context.s7, { step: 's7', recorded: 6 }, 'the final context holds every output');
      } finally {
        await f.close();
      }
    });

    it('maxSteps 1 commits every step on its own', async () => {
      const seen: Seen[] = [];
      const ref: { f?: FlowHub } = {};
      const f = (ref.f = await startFlowHub(kind, { files: { 'line.yaml': line('line', 4, 'probe') }, modules: [probe(ref, seen)], flows: { stepCommit: { maxSteps: 1 } } }));
      try {
        assert.equal((await runToEnd(f, 'line', {})).state, 'succeeded');
        assert.deepEqual(seen.map((s) => s.recorded), [0, 1, 2, 3]);
      } finally {
        await f.close();
      }
    });

    it('a retryable failure inside a stretch: earlier steps recorded once, the failing one retried under the same key, the run goes on', async () => {
      const seen: Seen[] = [];
      const files = { 'retry.yaml': line('retry', 4, 'set', { 3: 'flaky' }).replace('s3: { subsystem: flaky', 's3: { subsystem: flaky, retry: { attempts: 3, backoffMs: 10 }') };
      const f = await startFlowHub(kind, { files, modules: [flaky(true, seen)] });
      try {
        const run = await runToEnd(f, 'retry', {});
        assert.equal(run.state, 'succeeded');
        assert.deepEqual(seen.map((s) => [s.key, s.attempt]), [[`${run.runId}:s3:3`, 1], [`${run.runId}:s3:3`, 2]]);
        const history = await steps(f, run.runId);
        assert.deepEqual(history.map((s) => [s.stepId, s.seq, s.attempt, s.state]), [
          ['s1', 1, 1, 'succeeded'],
          ['s2', 2, 1, 'succeeded'],
          ['s3', 3, 1, 'retrying'],
          ['s3', 3, 2, 'succeeded'],
          ['s4', 4, 1, 'succeeded'],
        ]);
        assert.equal(history[2]!.error.code, 'BUSY');
      } finally {
        await f.close();
      }
    });

    it('a failure inside a stretch takes the error route, or fails the run with the steps before it recorded', async () => {
      const seen: Seen[] = [];
      const routed = yaml([
        'id: routed',
        'steps:',
        '  s1: { subsystem: set, next: [s2] }',
        '  s2: { subsystem: broken, next: [s3], onError: fallback }',
        '  s3: { subsystem: set }',
        '  fallback: { subsystem: set, input: { code: s2.error.code } }',
      ]);
      const files = { 'routed.yaml': routed, 'plain.yaml': line('plain', 3, 'set', { 2: 'broken' }) };
      const f = await startFlowHub(kind, { files, modules: [flaky(false, seen)] });
      try {
        const viaRoute = await runToEnd(f, 'routed', {});
        assert.equal(viaRoute.state, 'succeeded');
        assert.deepEqual((await steps(f, viaRoute.runId)).map((s) => [s.stepId, s.state]), [['s1', 'succeeded'], ['s2', 'failed'], ['fallback', 'succeeded']]);
        assert.equal(viaRoute.context.s2.error.code, 'REFUSED', 'the error step sees the error');

        const failed = await runToEnd(f, 'plain', {});
        assert.equal(failed.state, 'failed');
        assert.deepEqual(failed.error, { step: 's2', code: 'REFUSED', message: 'first try of s2 fails' });
        assert.deepEqual((await steps(f, failed.runId)).map((s) => [s.stepId, s.attempt, s.state]), [['s1', 1, 'succeeded'], ['s2', 1, 'failed']]);
        assert.equal(seen.length, 2, 'each failing step was tried once: no retry configured, no second call');
      } finally {
        await f.close();
      }
    });

    it('a delay inside a stretch waits durably, then the run goes on', async () => {
      const files = { 'wait.yaml': line('wait', 3, 'set').replace('s2: { subsystem: set', 's2: { subsystem: delay, options: { ms: 50 }') };
      const f = await startFlowHub(kind, { files });
      try {
        const run = await runToEnd(f, 'wait', {});
        assert.equal(run.state, 'succeeded');
        const history = await steps(f, run.runId);
        assert.deepEqual(history.map((s) => [s.stepId, s.state]), [['s1', 'succeeded'], ['s2', 'succeeded'], ['s3', 'succeeded']]);
        assert.ok(history[2]!.startedAt - history[1]!.startedAt >= 50, 's3 started after the delay');
      } finally {
        await f.close();
      }
    });

    it('size limits inside a stretch: an oversized output fails its step, a context past flows.contextBytes fails the run at the step that crossed it', async () => {
      const files = { 'big.yaml': line('big', 4, 'pad'), 'huge.yaml': line('huge', 3, 'set', { 2: 'huge' }) };
      // 600 bytes per output: the request and one output fit in 1 KiB, two outputs do not.
      const pad: LocalModule = { name: 'pad', run: (_input, call) => ({ step: call.stepId, pad: 'x'.repeat(600) }) };
      const huge: LocalModule = { name: 'huge', run: () => ({ pad: 'x'.repeat(2000) }) };
      const f = await startFlowHub(kind, { files, modules: [pad, huge], flows: { contextBytes: 1024, stepOutputBytes: 1024 } });
      try {
        const crossed = await runToEnd(f, 'big', {});
        assert.equal(crossed.state, 'failed');
        assert.equal(crossed.error.code, 'CONTEXT_TOO_LARGE');
        assert.equal(crossed.error.step, 's2', 'the output of s2 crossed the limit');
        assert.deepEqual((await steps(f, crossed.runId)).map((s) => [s.stepId, s.state]), [['s1', 'succeeded'], ['s2', 'succeeded']], 'both outputs kept in history; s3 never ran');
        const events = await f.hub.ctx.db.selectFrom('events').select('topic').where('entity_id', '=', crossed.runId).orderBy('id').execute();
        assert.deepEqual(events.map((e) => e.topic), ['flow.run.started', 'flow.run.failed']);

        const oversized = await runToEnd(f, 'huge', {});
        assert.equal(oversized.state, 'failed');
        assert.equal(oversized.error.code, 'STEP_OUTPUT_TOO_LARGE');
        assert.deepEqual((await steps(f, oversized.runId)).map((s) => [s.stepId, s.state]), [['s1', 'succeeded'], ['s2', 'failed']]);
      } finally {
        await f.close();
      }
    });
  });
}
