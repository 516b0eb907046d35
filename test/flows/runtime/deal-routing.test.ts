import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { countRows } from '../../support/hub.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { STEP_TASK } from '../../../src/flows/index.js';
import { eventually, fakeCrm, gateModule, getRun, runToEnd, startFlowHub, type FlowHub } from './support.js';

const DEAL_ROUTING = readFileSync(new URL('../../../examples/flows/001-deal-routing.yaml', import.meta.url), 'utf8');
const FLOW = '001-deal-routing';
const GATED = ['id: gated', 'steps:', '  hold: { subsystem: gate, next: [after] }', '  after: { subsystem: set, options: { values: { done: true } } }', ''].join('\n');

for (const kind of TEST_DATABASES) {
  describe(`flows: the 001 example through the API (${kind})`, () => {
    let f: FlowHub;
    const crm = fakeCrm();
    const gate = gateModule();

    before(async () => {
      crm.contacts.set('+79990000001', { ID: '11', PHONE: '+79990000001' });
      crm.contacts.set('+79990000002', { ID: '12', PHONE: '+79990000002' });
      crm.deals.set('501', { ID: '501', CONTACT_ID: '11', TITLE: 'Sofa', STAGE_ID: 'NEW' });
      f = await startFlowHub(kind, { files: { '001-deal-routing.yaml': DEAL_ROUTING, 'gated.yaml': GATED }, modules: [...crm.modules, gate.module] });
    });
    after(async () => {
      gate.open();
      await f.close();
    });

    it('a known contact with a deal: the deal is loaded by id, then remembered; every step recorded in order', async () => {
      const out = await runToEnd(f, FLOW, { phone: '+79990000001', email: 'a@example.com' });
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      assert.equal(out.version, 1);
      assert.deepEqual(out.context.request, { phone: '+79990000001', email: 'a@example.com' });
      assert.deepEqual(out.context['get-bitrix-deal'], { value: { ID: '501' } });
      assert.equal(out.context['get-bitrix-deal-by-id'].TITLE, 'Sofa');
      assert.equal(out.context['bitrix-lead-set-default-values'], undefined, 'the lead branch did not run');

      const run = await getRun(f, out.runId);
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(run.steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'get-bitrix-deal-by-id', 'remember-deal']);
      assert.deepEqual(run.steps.map((s: any) => s.seq), [1, 2, 3, 4]);
      for (const s of run.steps) {
        assert.equal(s.state, 'succeeded');
        assert.equal(s.attempt, 1);
        assert.ok(s.finishedAt >= s.startedAt && s.durationMs === s.finishedAt - s.startedAt, 'timings are recorded');
      }
      assert.deepEqual(run.steps[0].input, { phone: '+79990000001', email: 'a@example.com' }, 'a mapped input is kept');
      assert.deepEqual(run.steps[3].input, { $context: true }, 'the whole context is not copied into history');
      assert.deepEqual(run.steps[2].input, { id: '501' });
      assert.ok(run.finishedAt >= run.startedAt);
    });

    it('an unknown contact without a deal gets the lead defaults; a known contact without a deal goes straight on', async () => {
      const lead = await runToEnd(f, FLOW, { phone: '+70000000000' });
      assert.equal(lead.state, 'succeeded');
      assert.deepEqual(lead.context['bitrix-lead-set-default-values'], { SOURCE_ID: 'WEB', TITLE: 'Request from the site' });
      assert.deepEqual((await getRun(f, lead.runId)).steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'bitrix-lead-set-default-values', 'remember-deal']);

      const known = await runToEnd(f, FLOW, { phone: '+79990000002' });
      assert.equal(known.state, 'succeeded');
      assert.deepEqual((await getRun(f, known.runId)).steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'remember-deal']);
    });

    it('modules see one idempotency key per step activation, and run events go to the outbox', async () => {
      const before = crm.calls.length;
      const out = await runToEnd(f, FLOW, { phone: '+79990000001' });
      const mine = crm.calls.slice(before).filter((c) => c.key.startsWith(`${out.runId}:`));
      assert.deepEqual(mine.map((c) => c.key), [`${out.runId}:bitrix-find-contact:1`, `${out.runId}:get-bitrix-deal:2`, `${out.runId}:get-bitrix-deal-by-id:3`]);
      const events = await f.hub.ctx.db.selectFrom('events').select(['topic', 'payload']).where('entity_type', '=', 'flow_run').where('entity_id', '=', out.runId).orderBy('id').execute();
      assert.deepEqual(events.map((e) => e.topic), ['flow.run.started', 'flow.run.succeeded']);
      assert.equal(JSON.parse(events[0]!.payload as string).flowId, FLOW);
    });

    it('a step job delivered again after its step finished (as after a crash before the job was marked done) does not call the module again', async () => {
      const out = await runToEnd(f, FLOW, { phone: '+79990000001' });
      const calls = crm.calls.length;
      const key = `${out.runId}:bitrix-find-contact:1`;
      await f.hub.ctx.jobs.enqueue(f.hub.ctx.db, STEP_TASK, { runId: out.runId, stepId: 'bitrix-find-contact', seq: 1 }, { key });
      await eventually('the duplicate job was handled', async () => !(await f.hub.ctx.db.selectFrom('jobs').select('id').where('job_key', '=', key).executeTakeFirst()));
      assert.equal(crm.calls.length, calls, 'no module saw it');
      assert.equal((await getRun(f, out.runId)).steps.length, 4, 'nothing was recorded twice');
    });

    it('replay from a step reuses the earlier outputs and runs only that step and what follows', async () => {
      const first = await runToEnd(f, FLOW, { phone: '+79990000001' });
      crm.deals.get('501')!.TITLE = 'Sofa, blue';
      const contactsBefore = crm.count('find-contact');
      const dealsBefore = crm.count('find-deal');
      const getBefore = crm.count('get-deal');
      const res = await f.call('POST', `/runs/${first.runId}/replay`, { body: { fromStep: 'get-bitrix-deal-by-id' } });
      assert.equal(res.statusCode, 202, res.body);
      const { runId, replayOf } = res.json();
      assert.equal(replayOf, first.runId);
      assert.notEqual(runId, first.runId);
      let run = await getRun(f, runId);
      for (let i = 0; i < 500 && run.state === 'running'; i++) run = (await new Promise((r) => setTimeout(r, 20)), await getRun(f, runId));
      assert.equal(run.state, 'succeeded');
      assert.equal(run.replayOf, first.runId);
      assert.equal(run.replayFrom, 'get-bitrix-deal-by-id');
      assert.deepEqual(run.steps.map((s: any) => `${s.stepId}:${s.state}`), ['bitrix-find-contact:reused', 'get-bitrix-deal:reused', 'get-bitrix-deal-by-id:succeeded', 'remember-deal:succeeded']);
      assert.equal(crm.count('find-contact'), contactsBefore, 'find-contact was not called again');
      assert.equal(crm.count('find-deal'), dealsBefore, 'find-deal was not called again');
      assert.equal(crm.count('get-deal'), getBefore + 1);
      assert.equal(run.steps[2].output.TITLE, 'Sofa, blue', 'the replayed step ran afresh');
      assert.deepEqual(run.steps[1].output, { value: { ID: '501' } }, 'the reused output is the old one');
    });

    it('replay refuses an unknown step (422), a running run (409) and an unknown run (404)', async () => {
      const done = await runToEnd(f, FLOW, { phone: '+79990000002' });
      const bad = await f.call('POST', `/runs/${done.runId}/replay`, { body: { fromStep: 'no-such-step' } });
      assert.equal(bad.statusCode, 422, bad.body);
      assert.match(bad.json().description, /no step "no-such-step"/);
      const held = await f.call('POST', '/flows/gated/requests', { body: {} });
      assert.equal(held.statusCode, 202);
      const busy = await f.call('POST', `/runs/${held.json().runId}/replay`, { body: { fromStep: 'hold' } });
      assert.equal(busy.statusCode, 409, busy.body);
      assert.equal((await f.call('POST', '/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/replay', { body: { fromStep: 'hold' } })).statusCode, 404);
      assert.equal((await f.call('POST', `/runs/${held.json().runId}/cancel`)).statusCode, 200);
    });

    it('Idempotency-Key: the same body gets the same run, another body 409, and no second run is made', async () => {
      const headers = { 'idempotency-key': 'order-42' };
      const first = await f.call('POST', `/flows/${FLOW}/requests`, { body: { phone: '+79990000002' }, headers });
      assert.equal(first.statusCode, 202, first.body);
      assert.equal(first.json().duplicate, false);
      const runs = await countRows(f as never, 'flow_runs');
      const again = await f.call('POST', `/flows/${FLOW}/requests?wait=20000`, { body: { phone: '+79990000002' }, headers });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().runId, first.json().runId);
      assert.equal(again.json().duplicate, true);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      const other = await f.call('POST', `/flows/${FLOW}/requests`, { body: { phone: '+79990000001' }, headers });
      assert.equal(other.statusCode, 409, other.body);
      assert.match(other.json().description, new RegExp(first.json().runId));
      assert.equal(await countRows(f as never, 'flow_runs'), runs, 'no run was added by the retries');
    });

    it('?wait answers 202 with the run id when the run has not ended in time', async () => {
      const res = await f.call('POST', '/flows/gated/requests?wait=50', { body: { n: 1 } });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().state, 'running');
      assert.equal(res.headers.location, `/runs/${res.json().runId}`);
      assert.equal((await f.call('POST', `/runs/${res.json().runId}/cancel`)).statusCode, 200);
    });

    it('bad requests: unknown flow 404, a body that is no object 422, malformed JSON 400, too large 413, unauthenticated 401', async () => {
      const unknown = await f.call('POST', '/flows/nope/requests', { body: {} });
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.json().description, /001-deal-routing/, 'names the loaded flows');
      const list = await f.call('POST', `/flows/${FLOW}/requests`, { body: [1, 2] });
      assert.equal(list.statusCode, 422, list.body);
      const broken = await f.call('POST', `/flows/${FLOW}/requests`, { rawBody: '{"phone":', headers: { 'content-type': 'application/json' } });
      assert.equal(broken.statusCode, 400);
      const big = await f.call('POST', `/flows/${FLOW}/requests`, { body: { blob: 'x'.repeat(300_000) } });
      assert.equal(big.statusCode, 413);
      assert.equal((await f.call('POST', `/flows/${FLOW}/requests`, { body: {}, auth: null })).statusCode, 401);
      assert.equal((await f.call('GET', '/runs/nope')).statusCode, 404);
    });

    it('GET /flows and /flows/:id show the loaded flows and their stored version; GET /runs filters and pages', async () => {
      const flows = (await f.call('GET', '/flows')).json();
      assert.deepEqual(flows.map((x: any) => x.id).sort(), [FLOW, 'gated']);
      const one = (await f.call('GET', `/flows/${FLOW}`)).json();
      assert.equal(one.version, 1);
      assert.equal(one.steps, 5);
      assert.deepEqual(one.start, ['bitrix-find-contact']);
      assert.equal((await f.call('GET', '/flows/nope')).statusCode, 404);

      const page1 = (await f.call('GET', `/runs?flow=${FLOW}&state=succeeded&limit=2`)).json();
      assert.equal(page1.runs.length, 2);
      assert.ok(page1.runs.every((r: any) => r.flowId === FLOW && r.state === 'succeeded'));
      const page2 = (await f.call('GET', `/runs?flow=${FLOW}&state=succeeded&limit=2&before=${page1.next}`)).json();
      assert.ok(page2.runs.length > 0);
      assert.ok(page2.runs[0].runId < page1.runs[1].runId, 'newest first, no overlap');
      const cancelled = (await f.call('GET', '/runs?state=cancelled')).json();
      assert.ok(cancelled.runs.length >= 1 && cancelled.runs.every((r: any) => r.flowId === 'gated'));
      assert.equal((await f.call('GET', '/runs?state=bogus')).statusCode, 400);
    });
  });
}
