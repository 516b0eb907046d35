// Flow metrics on /metrics: runs ended by flow and state, module calls by module and answer, and the
// queued / running runs counted in the database at each scrape.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { eventually, gateModule, runToEnd, startFlowHub, type FlowHub } from './support.js';

const FILES = {
  'fine.yaml': ['id: fine', 'steps:', '  a: { subsystem: set, options: { values: { x: 1 } }, next: [b] }', '  b: { subsystem: set, options: { values: { y: 2 } } }', ''].join('\n'),
  'broken.yaml': ['id: broken', 'steps:', '  boom: { subsystem: refuser }', ''].join('\n'),
  'gated.yaml': ['id: gated', 'steps:', '  hold: { subsystem: gate, next: [done] }', '  done: { subsystem: set, options: { values: { done: true } } }', ''].join('\n'),
  'slow-intake.yaml': ['id: slow-intake', 'intake: { mode: rate, limit: 1, perMs: 3600000 }', 'steps:', '  only: { subsystem: set, options: { values: { ok: true } } }', ''].join('\n'),
};

const refuser: LocalModule = {
  name: 'refuser',
  run() {
    throw new StepFailure('NOPE', 'refused on purpose', false);
  },
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(f: FlowHub): Promise<Sample[]> {
  const res = await f.call('GET', '/metrics');
  assert.equal(res.statusCode, 200);
  return res.body
    .split('\n')
    .filter((line) => line.startsWith('conveyor_flow_'))
    .map((line) => {
      const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

for (const kind of TEST_DATABASES) {
  describe(`flows: metrics (${kind})`, () => {
    let f: FlowHub;
    const gate = gateModule();

    before(async () => {
      f = await startFlowHub(kind, { files: FILES, modules: [refuser, gate.module] });
    });
    after(async () => {
      gate.open();
      await f.close();
    });

    it('counts ended runs by flow and state, and module calls by module and answer', async () => {
      assert.equal((await runToEnd(f, 'fine', {})).state, 'succeeded');
      assert.equal((await runToEnd(f, 'fine', {})).state, 'succeeded');
      assert.equal((await runToEnd(f, 'broken', {})).state, 'failed');
      const m = await scrape(f);
      assert.equal(value(m, 'conveyor_flow_runs_ended_total', { flow: 'fine', state: 'succeeded' }), 2);
      assert.equal(value(m, 'conveyor_flow_runs_ended_total', { flow: 'broken', state: 'failed' }), 1);
      assert.equal(value(m, 'conveyor_flow_step_duration_seconds_count', { module: 'set', outcome: 'ok' }), 4, 'two calls of set per fine run');
      assert.equal(value(m, 'conveyor_flow_step_duration_seconds_count', { module: 'refuser', outcome: 'error' }), 1);
      assert.equal(value(m, 'conveyor_flow_step_duration_seconds_count', { module: 'refuser', outcome: 'ok' }), undefined);
      // A histogram: cumulative buckets up to +Inf (the count); every call here took under 30 s.
      const buckets = m.filter((s) => s.name === 'conveyor_flow_step_duration_seconds_bucket' && s.labels.module === 'set');
      assert.deepEqual(buckets.map((b) => b.labels.le).slice(-2), ['30', '+Inf']);
      assert.ok(buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value), 'cumulative');
      assert.equal(buckets.at(-1)!.value, 4);
      assert.equal(buckets.at(-2)!.value, 4);
      const text = (await f.call('GET', '/metrics')).body;
      assert.match(text, /^# TYPE conveyor_flow_step_duration_seconds histogram$/m);
      assert.match(text, /^# TYPE conveyor_flow_runs_ended_total counter$/m);
    });

    it('counts queued and running runs in the database at each scrape, and a cancel as an ended run', async () => {
      // Rate-limited to one run an hour: the first starts, the second waits, queued.
      for (let i = 0; i < 2; i++) assert.equal((await f.call('POST', '/flows/slow-intake/requests', { body: { i } })).statusCode, 202);
      const held = (await f.call('POST', '/flows/gated/requests', { body: {} })).json().runId as string;
      await eventually('the gated run to reach its gate', () => gate.seen.length === 1);
      const m = await scrape(f);
      assert.equal(value(m, 'conveyor_flow_runs', { flow: 'slow-intake', state: 'queued' }), 1);
      assert.equal(value(m, 'conveyor_flow_runs', { flow: 'gated', state: 'running' }), 1);

      assert.equal((await f.call('POST', `/runs/${held}/cancel`)).statusCode, 200);
      const later = await scrape(f);
      assert.equal(value(later, 'conveyor_flow_runs_ended_total', { flow: 'gated', state: 'cancelled' }), 1);
      assert.equal(value(later, 'conveyor_flow_runs', { flow: 'gated', state: 'running' }), undefined, 'no longer running');
      assert.equal(value(later, 'conveyor_flow_runs', { flow: 'slow-intake', state: 'queued' }), 1, 'still waiting for its hour');
    });
  });
}
