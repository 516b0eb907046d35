// POST /flows/:id/replay: after an outage of what a step calls, a flow's failed runs go again — each from
// the step it failed at, oldest first, reusing the outputs before it — and running it twice replays nothing twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { eventually, getRun, runToEnd, startFlowHub, type FlowHub } from './support.js';

const FLAKY = ['id: flaky', 'steps:', '  first: { subsystem: set, options: { values: { n: 1 } }, next: [call] }', '  call: { subsystem: crm-down, next: [last] }', '  last: { subsystem: set, options: { values: { done: true } } }', ''].join('\n');

for (const kind of TEST_DATABASES) {
  describe(`flows: replaying a flow's failed runs in bulk (${kind})`, () => {
    let f: FlowHub;
    let down = true;
    const calls: string[] = [];
    const crm: LocalModule = {
      name: 'crm-down',
      run(_input, call) {
        calls.push(call.idempotencyKey);
        if (down) throw new StepFailure('CRM_DOWN', 'the CRM is down', false);
        return { saved: true };
      },
    };

    before(async () => {
      f = await startFlowHub(kind, { files: { 'flaky.yaml': FLAKY }, modules: [crm] });
    });
    after(async () => f.close());

    const replay = async (body: Record<string, unknown> = {}) => {
      const res = await f.call('POST', '/flows/flaky/replay', { body });
      assert.equal(res.statusCode, 202, res.body);
      return res.json() as { replayed: { runId: string; replayOf: string; fromStep: string }[]; skipped: { runId: string; reason: string }[]; next: string | null };
    };

    it('replays each failed run from the step it failed at, oldest first, a page at a time; the second time skips them', async () => {
      const failed: string[] = [];
      for (let i = 0; i < 3; i++) {
        const out = await runToEnd(f, 'flaky', { i });
        assert.equal(out.state, 'failed');
        failed.push(out.runId);
      }
      down = false; // the CRM is back

      const first = await replay({ limit: 2 }); // the two newest, replayed oldest first
      assert.deepEqual(first.replayed.map((r) => [r.replayOf, r.fromStep]), [[failed[1], 'call'], [failed[2], 'call']]);
      assert.deepEqual(first.skipped, []);
      assert.equal(first.next, failed[1]);
      const rest = await replay({ limit: 2, before: first.next });
      assert.deepEqual(rest.replayed.map((r) => r.replayOf), [failed[0]]);
      assert.equal(rest.next, null);

      for (const { runId, replayOf } of [...first.replayed, ...rest.replayed]) {
        await eventually(`replay ${runId} to end`, async () => (await getRun(f, runId)).state !== 'running');
        const run = await getRun(f, runId);
        assert.equal(run.state, 'succeeded');
        assert.equal(run.replayOf, replayOf);
        assert.deepEqual(
          run.steps.map((s: { stepId: string; state: string }) => [s.stepId, s.state]),
          [['first', 'reused'], ['call', 'succeeded'], ['last', 'succeeded']],
          'the step before the failure is reused, not run again',
        );
      }

      const again = await replay(); // {}: the defaults
      assert.deepEqual(again.replayed, []);
      assert.deepEqual(new Set(again.skipped.map((s) => s.runId)), new Set(failed));
      assert.ok(again.skipped.every((s) => /^replayed already, as run \w+$/.test(s.reason)), JSON.stringify(again.skipped));
    });

    it('dead runs record no failing step: skipped unless fromStep is given; an unknown fromStep or flow is refused', async () => {
      down = true;
      const out = await runToEnd(f, 'flaky', { dead: true });
      down = false;
      // A run the supervisor gave up on ends dead with no step in its error (markDead); made so here.
      await sql`update flow_runs set state = 'dead', error = ${JSON.stringify({ code: 'RUN_BROKEN', message: 'gone' })} where id = ${out.runId}`.execute(f.hub.ctx.db);

      const skipped = await replay({ state: 'dead' });
      assert.deepEqual(skipped.skipped, [{ runId: out.runId, reason: 'no failing step is recorded (a dead run): give fromStep' }]);
      const fromFirst = await replay({ state: 'dead', fromStep: 'first' });
      assert.deepEqual(fromFirst.replayed.map((r) => [r.replayOf, r.fromStep]), [[out.runId, 'first']]);
      await eventually('the dead run replayed to end', async () => (await getRun(f, fromFirst.replayed[0]!.runId)).state === 'succeeded');

      const unknownStep = await f.call('POST', '/flows/flaky/replay', { body: { fromStep: 'nope' } });
      assert.equal(unknownStep.statusCode, 422);
      assert.match(unknownStep.json().description, /flow flaky has no step "nope"; its steps: first, call, last/);
      assert.equal((await f.call('POST', '/flows/nope/replay', { body: {} })).statusCode, 404);
      assert.equal((await f.call('POST', '/flows/flaky/replay', { body: { state: 'running' } })).statusCode, 422, 'only failed or dead runs');
      assert.equal((await f.call('POST', '/flows/flaky/replay', { body: {}, auth: ['analyst', 'nope'] })).statusCode, 401);
    });
  });
}
