import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { eventually, gateModule, getRun, runToEnd, startFlowHub, type FlowHub } from './support.js';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;

const FILES = {
  'fan.yaml': yaml([
    'id: fan',
    'steps:',
    '  split: { subsystem: set, options: { values: { order: "{{ request.order }}" } }, next: [fast, slow] }',
    '  fast: { subsystem: set, options: { values: { fast: true } }, next: [fast-tail] }',
    '  fast-tail: { subsystem: transform, input: { order: split.order }, options: { fields: { tail: { from: order, ops: [string] } } } }',
    '  slow: { subsystem: gate }',
  ]),
  'retry.yaml': yaml([
    'id: retry',
    'steps:',
    '  call: { subsystem: flaky, retry: { attempts: 3, backoffMs: 1 }, onError: report, next: [never] }',
    '  never: { subsystem: set }',
    '  report: { subsystem: set, input: { why: call.error.code }, options: { values: { reported: "{{ why }}" } } }',
  ]),
  'fails.yaml': yaml(['id: fails', 'steps:', '  call: { subsystem: flaky, retry: { attempts: 2, backoffMs: 1 } }']),
  'refuses.yaml': yaml(['id: refuses', 'onError: fallback', 'steps:', '  call: { subsystem: refuse, retry: { attempts: 5, backoffMs: 1 } }', '  fallback: { subsystem: set, options: { values: { fellBack: true } } }']),
  'wait.yaml': yaml(['id: wait', 'steps:', '  pause: { subsystem: delay, options: { ms: 5 }, next: [after] }', '  after: { subsystem: set, options: { values: { after: true } } }']),
  'cancel.yaml': yaml(['id: cancel', 'steps:', '  hold: { subsystem: hold, next: [after] }', '  after: { subsystem: count-after }']),
};

for (const kind of TEST_DATABASES) {
  describe(`flows: branches, retries, error routes, delay, cancel (${kind})`, () => {
    let f: FlowHub;
    const gate = gateModule();
    const hold = gateModule('hold');
    let flakyCalls = 0;
    let afterCalls = 0;
    const modules: LocalModule[] = [
      gate.module,
      hold.module,
      {
        name: 'flaky',
        run() {
          flakyCalls++;
          throw new StepFailure('REMOTE_DOWN', 'the remote answered 503', true);
        },
      },
      {
        name: 'refuse',
        run() {
          throw new StepFailure('BAD_INPUT', 'the remote refused the input', false);
        },
      },
      { name: 'count-after', run: () => ({ n: ++afterCalls }) },
    ];

    before(async () => {
      f = await startFlowHub(kind, { files: FILES, modules });
    });
    after(async () => {
      gate.open();
      hold.open();
      await f.close();
    });

    it('parallel branches: the run ends only when every branch has ended, with both branches in the context', async () => {
      const res = await f.call('POST', '/flows/fan/requests', { body: { order: 7 } });
      assert.equal(res.statusCode, 202);
      const { runId } = res.json();
      await eventually('the fast branch finished', async () => (await getRun(f, runId)).steps.some((s: any) => s.stepId === 'fast-tail'));
      let run = await getRun(f, runId);
      assert.equal(run.state, 'running', 'the slow branch is still under way');
      assert.equal(run.liveBranches, 1);
      gate.open();
      await eventually('the run ended', async () => (run = await getRun(f, runId)).state !== 'running');
      assert.equal(run.state, 'succeeded');
      assert.equal(run.liveBranches, 0);
      assert.deepEqual(run.steps.map((s: any) => s.stepId).sort(), ['fast', 'fast-tail', 'slow', 'split']);
      assert.deepEqual(new Set(run.steps.map((s: any) => s.seq)), new Set([1, 2, 3, 4]), 'each activation has its own seq');
      const tail = run.steps.find((s: any) => s.stepId === 'fast-tail');
      assert.deepEqual(tail.output, { tail: '7' });
    });

    it('a retryable error is retried up to retry.attempts, then the step error route runs with the error in the context', async () => {
      const before = flakyCalls;
      const out = await runToEnd(f, 'retry', {});
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      assert.equal(flakyCalls - before, 3);
      assert.deepEqual(out.context.report, { reported: 'REMOTE_DOWN' });
      assert.equal(out.context.never, undefined, 'the normal route was not taken');
      const run = await getRun(f, out.runId);
      assert.deepEqual(run.steps.map((s: any) => `${s.stepId}#${s.attempt}:${s.state}`), ['call#1:retrying', 'call#2:retrying', 'call#3:failed', 'report#1:succeeded']);
      assert.equal(run.steps[0].error.code, 'REMOTE_DOWN');
      assert.equal(run.steps[0].error.retryable, true);
      assert.ok(run.steps[0].wakeAt >= run.steps[0].finishedAt, 'the retry was scheduled after a backoff');
    });

    it('without an error route the run fails with the step error, and is listed as failed', async () => {
      const out = await runToEnd(f, 'fails', {});
      assert.equal(out.state, 'failed');
      assert.deepEqual(out.error, { step: 'call', code: 'REMOTE_DOWN', message: 'the remote answered 503' });
      const failed = (await f.call('GET', '/runs?flow=fails&state=failed')).json();
      assert.deepEqual(failed.runs.map((r: any) => r.runId), [out.runId]);
      const events = await f.hub.ctx.db.selectFrom('events').select('topic').where('entity_id', '=', out.runId).orderBy('id').execute();
      assert.deepEqual(events.map((e) => e.topic), ['flow.run.started', 'flow.run.failed']);
    });

    it('a non-retryable error is not retried; the flow-level onError takes over', async () => {
      const out = await runToEnd(f, 'refuses', {});
      assert.equal(out.state, 'succeeded');
      const run = await getRun(f, out.runId);
      assert.deepEqual(run.steps.map((s: any) => `${s.stepId}#${s.attempt}:${s.state}`), ['call#1:failed', 'fallback#1:succeeded']);
      assert.deepEqual(out.context.call, { error: { code: 'BAD_INPUT', message: 'the remote refused the input', retryable: false } });
    });

    it('delay parks the step durably (no worker held), then the run goes on', async () => {
      const out = await runToEnd(f, 'wait', {});
      assert.equal(out.state, 'succeeded');
      const pause = (await getRun(f, out.runId)).steps[0];
      assert.equal(pause.state, 'succeeded');
      assert.deepEqual(pause.output, { delayedMs: 5 });
      assert.ok(pause.wakeAt !== null && pause.finishedAt >= pause.wakeAt, 'finished when the wait was over');
      assert.deepEqual(out.context.after, { after: true });
    });

    it('cancel: the module call under way is aborted, later steps never run, a second cancel is 409', async () => {
      const res = await f.call('POST', '/flows/cancel/requests', { body: {} });
      const { runId } = res.json();
      await eventually('the hold step started', () => hold.seen.some((s) => s.key.startsWith(runId)));
      const cancel = await f.call('POST', `/runs/${runId}/cancel`);
      assert.equal(cancel.statusCode, 200, cancel.body);
      assert.equal(cancel.json().state, 'cancelled');
      await eventually('the module saw the abort', () => hold.seen.find((s) => s.key.startsWith(runId))!.aborted);
      const run = await getRun(f, runId);
      assert.equal(run.state, 'cancelled');
      assert.equal(run.error.code, 'CANCELLED');
      assert.equal(run.error.message, 'cancelled through the API by Admin', 'who cancelled it');
      assert.equal(afterCalls, 0);
      assert.equal((await f.call('POST', `/runs/${runId}/cancel`)).statusCode, 409);
      const events = await f.hub.ctx.db.selectFrom('events').select('topic').where('entity_id', '=', runId).orderBy('id').execute();
      assert.deepEqual(events.map((e) => e.topic), ['flow.run.started', 'flow.run.cancelled']);
    });
  });
}
