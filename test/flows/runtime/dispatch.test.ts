import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { createRunCancels } from '../../../src/flows/runtime/deps.js';
import { callWithDeadline } from '../../../src/flows/runtime/dispatch.js';
import { localTransport } from '../../../src/flows/runtime/local.js';
import type { StepCall } from '../../../src/flows/runtime/module.js';
import { silentLog } from '../../../src/flows/transports/outcome.js';
import { publishAndAwait } from '../../../src/flows/transports/waiter.js';

/** A run's cancel as the supervisor holds it; `abort()` cancels the run. */
function runCancel() {
  const cancels = createRunCancels();
  const cancel = cancels.acquire('r1');
  return Object.assign(cancel, { abort: () => cancels.cancel('r1') });
}

const call = (module: string, deadlineMs = 5000): StepCall => ({
  runId: 'r1',
  flowId: 'f',
  flowVersion: 1,
  stepId: module,
  module,
  attempt: 1,
  idempotencyKey: `r1:${module}:1`,
  input: {},
  options: {},
  deadline: Date.now() + deadlineMs,
});

describe('callWithDeadline', () => {
  it('answers with the module output and leaves no listener on the run signal, however many steps share it', async () => {
    const run = runCancel();
    const echo = localTransport({ name: 'echo', run: (_input, c) => ({ step: c.stepId }) });
    for (let i = 0; i < 50; i++) assert.deepEqual(await callWithDeadline(echo, call('echo'), run), { ok: true, output: { step: 'echo' } });
    assert.equal(getEventListeners(run.signal, 'abort').length, 0);
  });

  it('a cancel aborts the call under way; a deadline too; an aborted run signal never reaches the module', async () => {
    const run = runCancel();
    let seen: AbortSignal | undefined;
    const hold = localTransport({ name: 'hold', run: (_input, _c, signal) => ((seen = signal), new Promise(() => undefined)) });
    const pending = callWithDeadline(hold, call('hold'), run);
    run.abort();
    const cancelled = await pending;
    assert.equal(!cancelled.ok && cancelled.error.code, 'RUN_CANCELLED');
    assert.equal(seen?.aborted, true);
    const late = await callWithDeadline(hold, call('hold', 20), runCancel());
    assert.equal(!late.ok && late.error.code, 'MODULE_TIMEOUT');
    let called = false;
    const never = localTransport({ name: 'never', run: () => ((called = true), {}) });
    const refused = await callWithDeadline(never, call('never'), run);
    assert.equal(!refused.ok && refused.error.code, 'RUN_CANCELLED');
    assert.equal(called, false);
  });

  it('a module whose run() takes no signal still times out and is cancelled; one that declares it sees its own, fired at the deadline', async () => {
    const mute = localTransport({ name: 'mute', run: (_input, _c) => new Promise(() => undefined) });
    assert.equal(mute.takesSignal, false);
    const late = await callWithDeadline(mute, call('mute', 20), runCancel());
    assert.equal(!late.ok && late.error.code, 'MODULE_TIMEOUT');
    const run = runCancel();
    const pending = callWithDeadline(mute, call('mute'), run);
    run.abort();
    const cancelled = await pending;
    assert.equal(!cancelled.ok && cancelled.error.code, 'RUN_CANCELLED');
    assert.equal(getEventListeners(run.signal, 'abort').length, 0);

    let seen: AbortSignal | undefined;
    const listening = localTransport({ name: 'listening', run: (_input, _c, signal) => ((seen = signal), new Promise(() => undefined)) });
    assert.equal(listening.takesSignal, true);
    const runSignal = runCancel();
    await callWithDeadline(listening, call('listening', 20), runSignal);
    assert.equal(seen?.aborted, true, 'the call’s own signal fired at the deadline');
    assert.equal(runSignal.aborted || runSignal.signal.aborted, false, 'the run’s signal did not: the run goes on to a retry or an error route');
  });

  it('a transport that keeps the deadline itself (the broker ones) gets the run signal as it is; its abort answer becomes RUN_CANCELLED', async () => {
    const waiting = new Map();
    // A broker transport whose module never answers: publishAndAwait alone decides the outcome.
    const silent = { kind: 'queue' as const, keepsDeadline: true, seen: [] as AbortSignal[], call(c: StepCall, signal: AbortSignal) {
      this.seen.push(signal);
      return publishAndAwait(c, signal, { timeoutMs: 60_000, waiting, where: 'nowhere', log: silentLog }, async () => undefined);
    } };
    const late = await callWithDeadline(silent, call('silent', 20), runCancel());
    assert.equal(!late.ok && late.error.code, 'MODULE_TIMEOUT');
    const run = runCancel();
    const pending = callWithDeadline(silent, call('silent'), run);
    assert.equal(silent.seen[1], run.signal, 'no AbortController of the dispatcher in between');
    run.abort();
    const cancelled = await pending;
    assert.equal(!cancelled.ok && cancelled.error.code, 'RUN_CANCELLED');
    assert.equal(getEventListeners(run.signal, 'abort').length, 0);
    assert.equal(waiting.size, 0, 'the waiter is gone');
    const broken = { kind: 'queue' as const, keepsDeadline: true, call: () => Promise.reject(new Error('socket closed')) };
    const refused = await callWithDeadline(broken, call('broken'), runCancel());
    assert.deepEqual(refused, { ok: false, error: { code: 'MODULE_UNREACHABLE', message: 'socket closed', retryable: true } });
  });
});
