// A cancel reaches what runs of the run wherever it runs: a process that hears of it (its own API, or
// on PostgreSQL a NOTIFY from another process) stops a stretch before the next module, a step handed
// on after it starts cancelled, and a call under way in another hub process is aborted. Real processes:
// test/e2e/flows-cancel.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { LocalModule } from '../../../src/flows/index.js';
import { createRunCancels, type RunCancels } from '../../../src/flows/runtime/deps.js';
import { listenForCancels } from '../../../src/flows/runtime/cancel-broadcast.js';
import type { PgListenOptions } from '../../../src/platform/db/index.js';
import { createLogger } from '../../../src/platform/logging/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { eventually, gateModule, getRun, startFlowHub, type FlowHub } from './support.js';

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;
const stepJobsLeft = async (f: FlowHub) => (await f.hub.ctx.db.selectFrom('jobs').select('id').where('task', '=', 'flows.step').execute()).length;
const FILES = {
  'line.yaml': yaml(['id: line', 'steps:', '  s1: { subsystem: set, next: [s2] }', '  s2: { subsystem: mark, next: [s3] }', '  s3: { subsystem: count, next: [s4] }', '  s4: { subsystem: count }']),
  'held.yaml': yaml(['id: held', 'steps:', '  hold: { subsystem: hold, next: [after] }', '  after: { subsystem: count }']),
};

/** `mark` notes the run it saw; `count` counts its calls per step; `hold` holds until opened or aborted. */
function modules(marked: { runId?: string }, counted: string[], hold = gateModule('hold').module): LocalModule[] {
  return [
    hold,
    { name: 'mark', run: (_input, call) => ((marked.runId = call.runId), { marked: true }) },
    { name: 'count', run: (_input, call) => (counted.push(call.stepId), { n: counted.length }) },
  ];
}

/**
 * Makes the cancel of the marked run arrive at this process right after its step's module call was
 * released (`whenFree`: only once nothing of the run executes here any more, i.e. between activations).
 */
function cancelAfterRelease(cancels: RunCancels, marked: { runId?: string }, whenFree: boolean): void {
  const release = cancels.release.bind(cancels);
  let sent = false;
  cancels.release = (runId) => {
    release(runId);
    if (sent || runId !== marked.runId || (whenFree && cancels.running().includes(runId))) return;
    sent = true;
    cancels.cancel(runId);
  };
}

describe('run cancels remembered for steps that begin after the cancel', () => {
  it('a run cancelled here starts cancelled for a while, then is forgotten', () => {
    let now = 0;
    const cancels = createRunCancels(() => now);
    cancels.cancel('r1');
    assert.equal(cancels.acquire('r1').aborted, true);
    assert.deepEqual(cancels.running(), ['r1']);
    cancels.release('r1');
    assert.equal(cancels.acquire('r2').aborted, false, 'other runs are not affected');
    cancels.release('r2');
    now = 61_000;
    cancels.cancel('r3'); // forgetting happens as new cancels come
    assert.equal(cancels.acquire('r1').aborted, false, 'forgotten after a minute');
    assert.equal(cancels.acquire('r3').aborted, true);
    // The signal is made when first asked for: before the cancel it fires with it, after it it is born aborted.
    const early = cancels.acquire('r4').signal;
    const late = cancels.acquire('r5');
    cancels.cancel('r4');
    cancels.cancel('r5');
    assert.equal(early.aborted, true);
    assert.equal(late.signal.aborted, true);
  });
});

for (const kind of TEST_DATABASES) {
  describe(`a cancel heard while a run executes here (${kind})`, () => {
    let stretching: FlowHub;
    let stepwise: FlowHub;
    const marked: { runId?: string } = {};
    const counted: string[] = [];
    const markedStepwise: { runId?: string } = {};
    const countedStepwise: string[] = [];

    before(async () => {
      stretching = await startFlowHub(kind, { files: FILES, modules: modules(marked, counted) });
      stepwise = await startFlowHub(kind, { files: FILES, modules: modules(markedStepwise, countedStepwise), flows: { stepCommit: { maxSteps: 1 } } });
    });
    after(async () => {
      await stretching?.close();
      await stepwise?.close();
    });

    // Two guards stop the stretch: its loop checks the cancel before each step, and a call whose signal is
    // already aborted never reaches its module (callWithDeadline). Either alone keeps s3 uncalled.
    it('between two steps of a stretch: no later module is called; the steps that ran are recorded', async () => {
      cancelAfterRelease(stretching.hub.flows.deps.cancels, marked, false);
      const { runId } = (await stretching.call('POST', '/flows/line/requests', { body: {} })).json();
      await eventually('no step job left', async () => (await stepJobsLeft(stretching)) === 0);
      assert.equal(marked.runId, runId);
      assert.deepEqual(counted, [], 'neither s3 nor s4 was called');
      const run = await getRun(stretching, runId);
      assert.deepEqual(run.steps.map((s: any) => [s.stepId, s.state]), [['s1', 'succeeded'], ['s2', 'succeeded']]);
      // Only this process heard of the cancel (the test's stand-in for a notification): cancel it for real.
      assert.equal((await stretching.call('POST', `/runs/${runId}/cancel`)).statusCode, 200);
    });

    it('a step handed on after the cancel was heard ends without calling its module', async () => {
      cancelAfterRelease(stepwise.hub.flows.deps.cancels, markedStepwise, true);
      const { runId } = (await stepwise.call('POST', '/flows/line/requests', { body: {} })).json();
      await eventually('s2 committed and s3 handed on', async () => (await getRun(stepwise, runId)).steps.length === 2 && (await stepJobsLeft(stepwise)) === 0);
      assert.deepEqual(countedStepwise, [], 's3 was not called');
      assert.equal((await stepwise.call('POST', `/runs/${runId}/cancel`)).statusCode, 200);
    });
  });
}

for (const kind of TEST_DATABASES) {
  describe(`a run cancelled through the API while a stretch runs (${kind})`, () => {
    let f: FlowHub;
    const counted: string[] = [];
    let cancelFromModule: (runId: string) => Promise<void> = async () => undefined;

    before(async () => {
      const cancelling: LocalModule = { name: 'mark', run: async (_input, call) => (await cancelFromModule(call.runId), { marked: true }) };
      f = await startFlowHub(kind, { files: FILES, modules: [gateModule('hold').module, cancelling, { name: 'count', run: (_i, call) => (counted.push(call.stepId), { n: 1 }) }] });
      cancelFromModule = async (runId) => assert.equal((await f.call('POST', `/runs/${runId}/cancel`)).statusCode, 200);
    });
    after(async () => f?.close());

    it('keeps the steps whose modules ran in the history, calls no later module, and moves nothing else', async () => {
      const { runId } = (await f.call('POST', '/flows/line/requests', { body: {} })).json();
      await eventually('no step job left', async () => (await stepJobsLeft(f)) === 0);
      const run = await getRun(f, runId);
      assert.equal(run.state, 'cancelled');
      assert.deepEqual(counted, [], 's3 and s4 were not called');
      // s2's call was cut short by the cancel (its answer came after): recorded as such.
      assert.deepEqual(run.steps.map((s: any) => [s.stepId, s.state, s.error?.code]), [['s1', 'succeeded', undefined], ['s2', 'failed', 'RUN_CANCELLED']], 'the stretch up to the cancel is recorded');
      const events = await f.hub.ctx.db.selectFrom('events').select('topic').where('entity_id', '=', runId).orderBy('id').execute();
      assert.deepEqual(events.map((e) => e.topic), ['flow.run.started', 'flow.run.cancelled'], 'no success after the cancel');
    });
  });
}

for (const kind of TEST_DATABASES.filter((k) => k === 'postgres')) {
  describe('a cancel through one hub process aborts the call under way in another (postgres, in one test process)', () => {
    let api: FlowHub;
    let worker: FlowHub;
    const hold = gateModule('hold');
    const counted: string[] = [];

    before(async () => {
      // The API process runs no job workers: every step runs in the worker.
      api = await startFlowHub(kind, { files: FILES, modules: modules({}, []), jobs: { enabled: false } });
      worker = await startFlowHub(kind, { files: FILES, modules: modules({}, counted, hold.module), reuse: { db: api.db, dir: api.dir } });
    });
    after(async () => {
      await worker?.close();
      await api?.close();
    });

    it('the held module sees the abort, the next step is never called, ?wait callers in the worker wake', async () => {
      const { runId } = (await api.call('POST', '/flows/held/requests', { body: {} })).json();
      await eventually('the worker calls the held module', () => hold.seen.some((s) => s.key.startsWith(runId)));
      const waiting = worker.hub.flows.waitForEnd(runId, 20_000);
      const sent = Date.now();
      assert.equal((await api.call('POST', `/runs/${runId}/cancel`)).statusCode, 200);
      await eventually('the abort in the worker', () => hold.seen.find((s) => s.key.startsWith(runId))!.aborted, 2000);
      const ended = await waiting;
      assert.ok(Date.now() - sent < 2000, 'the ?wait caller woke at once');
      assert.equal(ended.run?.state, 'cancelled');
      hold.open(); // a module that ignored the abort would answer now: its answer must change nothing
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(counted, []);
      const run = await getRun(api, runId);
      assert.equal(run.state, 'cancelled');
      assert.deepEqual(run.steps.map((s: any) => [s.stepId, s.state, s.error?.code]), [['hold', 'failed', 'RUN_CANCELLED']], 'the aborted call is in the history');
      assert.equal(hold.seen.filter((s) => s.key.startsWith(runId)).length, 1, 'called once');
    });

    it('after its listening connection came back, a process asks which of its runs were cancelled meanwhile', async () => {
      const cancels = createRunCancels();
      let options: PgListenOptions | undefined;
      const database = { ...api.hub.ctx.database, listen: (o: PgListenOptions) => ((options = o), { ready: Promise.resolve(), close: async () => undefined }) };
      await listenForCancels({ database, cancels, log: createLogger('silent') });
      const { runId } = (await api.call('POST', '/flows/held/requests', { body: {} })).json();
      const signal = cancels.acquire(runId);
      // Cancelled while this "process" was not listening: no notification reaches it.
      await sql`update flow_runs set state = 'cancelled' where id = ${runId}`.execute(api.hub.ctx.db);
      assert.equal(signal.aborted, false);
      options!.onListening!(true);
      await eventually('the missed cancel found', () => signal.aborted, 2000);
      cancels.release(runId);
    });
  });
}
