import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createBitrix24Modules } from '../../../src/flows/modules/index.js';
import { loadConfig } from '../../../src/platform/config/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { startBitrix24Emulator, type Bitrix24Emulator } from '../../connectors/bitrix24/emulator.js';
import { getRun, runToEnd, startFlowHub, type FlowHub } from '../runtime/support.js';

const DEAL_ROUTING = readFileSync(new URL('../../../examples/flows/001-deal-routing.yaml', import.meta.url), 'utf8');
const LEAD = [
  'id: lead',
  'steps:',
  '  add:',
  '    subsystem: bitrix24.add-lead',
  '    input: { TITLE: request.title, PHONE: request.phone }',
  '    options: { fields: { SOURCE_ID: WEB } }',
  '    retry: { attempts: 3, backoffMs: 10 }',
  '    next: [touch-deal]',
  '  touch-deal:',
  '    subsystem: bitrix24.update-deal',
  '    input: { id: request.dealId, COMMENTS: request.title }',
  '',
].join('\n');
const ORDER = [
  'id: order',
  'steps:',
  '  create:',
  '    subsystem: bitrix24.add-deal',
  '    input: { TITLE: request.title, CONTACT_ID: request.contactId, OPPORTUNITY: request.total }',
  '    options: { fields: { SOURCE_ID: WEB, STAGE_ID: NEW } }',
  '    retry: { attempts: 3, backoffMs: 10 }',
  '    next: [load]',
  '  load:',
  '    subsystem: bitrix24.get-deal',
  '    input: { id: create.id }',
  '',
].join('\n');
const STRICT = ['id: strict', 'steps:', '  find:', '    subsystem: bitrix24.find-contact', '    input: { phone: request.phone }', '    retry: { attempts: 3, backoffMs: 10 }', ''].join('\n');

for (const kind of TEST_DATABASES) {
  describe(`flows: Bitrix24 modules against the emulator over HTTP (${kind})`, () => {
    let f: FlowHub;
    let emu: Bitrix24Emulator;
    let dealId: number;
    /** When set, the next crm.lead.add / crm.deal.add reaches the portal but its reply is lost, as on a dropped connection. */
    let loseNextLeadReply = false;
    let loseNextDealReply = false;
    const lossyFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const lead = loseNextLeadReply && String(input).endsWith('/crm.lead.add.json');
      const deal = loseNextDealReply && String(input).endsWith('/crm.deal.add.json');
      if (lead || deal) {
        if (lead) loseNextLeadReply = false;
        else loseNextDealReply = false;
        await response.arrayBuffer();
        throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      }
      return response;
    };

    before(async () => {
      emu = await startBitrix24Emulator();
      const withDeal = emu.add('contact', { NAME: 'Anna', PHONE: [{ VALUE: '+79990000001', VALUE_TYPE: 'WORK' }] });
      emu.add('contact', { NAME: 'Boris', EMAIL: [{ VALUE: 'boris@example.com', VALUE_TYPE: 'WORK' }] });
      emu.add('deal', { TITLE: 'Old sofa', CONTACT_ID: withDeal, STAGE_ID: 'WON' });
      dealId = emu.add('deal', { TITLE: 'Sofa', CONTACT_ID: withDeal, STAGE_ID: 'NEW' });
      // Settings through the config schema, as the hub reads them.
      const settings = loadConfig({ env: {}, overrides: { flows: { bitrix24: { webhookUrl: emu.webhookUrl } } } }).flows.bitrix24;
      const modules = createBitrix24Modules(settings, { fetch: lossyFetch });
      f = await startFlowHub(kind, { files: { '001-deal-routing.yaml': DEAL_ROUTING, 'lead.yaml': LEAD, 'order.yaml': ORDER, 'strict.yaml': STRICT }, modules });
    });
    after(async () => {
      await f?.close();
      await emu?.close();
    });

    it('001: a contact with deals takes the deal branch and loads the newest deal by id', async () => {
      const out = await runToEnd(f, '001-deal-routing', { phone: '+79990000001' });
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      assert.equal(out.context['bitrix-find-contact'].NAME, 'Anna');
      assert.equal(out.context['get-bitrix-deal'].value.ID, String(dealId));
      assert.equal(out.context['get-bitrix-deal-by-id'].TITLE, 'Sofa');
      assert.equal(out.context['bitrix-lead-set-default-values'], undefined);
      const run = await getRun(f, out.runId);
      assert.deepEqual(run.steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'get-bitrix-deal-by-id', 'remember-deal']);
    });

    it('001: an unknown phone takes the lead branch; a contact found by e-mail without deals goes straight on', async () => {
      const lead = await runToEnd(f, '001-deal-routing', { phone: '+70000000000' });
      assert.equal(lead.state, 'succeeded', JSON.stringify(lead));
      assert.deepEqual(lead.context['bitrix-find-contact'], { ID: null });
      assert.deepEqual(lead.context['get-bitrix-deal'], { value: null });
      assert.deepEqual((await getRun(f, lead.runId)).steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'bitrix-lead-set-default-values', 'remember-deal']);

      const known = await runToEnd(f, '001-deal-routing', { phone: '+70000000000', email: 'boris@example.com' });
      assert.equal(known.state, 'succeeded', JSON.stringify(known));
      assert.equal(known.context['bitrix-find-contact'].NAME, 'Boris');
      assert.deepEqual((await getRun(f, known.runId)).steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'remember-deal']);
    });

    it('an outage answer is retried: the deal is loaded on the second attempt', async () => {
      emu.faults.push({ method: 'crm.deal.get', httpStatus: 500, error: 'INTERNAL_SERVER_ERROR', description: 'Internal error', times: 1 });
      const out = await runToEnd(f, '001-deal-routing', { phone: '+79990000001' });
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      const attempts = (await getRun(f, out.runId)).steps.filter((s: any) => s.stepId === 'get-bitrix-deal-by-id');
      assert.deepEqual(attempts.map((s: any) => [s.attempt, s.state]), [[1, 'retrying'], [2, 'succeeded']]);
      assert.equal(attempts[0].error.code, 'BITRIX24_UNAVAILABLE');
      assert.equal(attempts[0].error.retryable, true);
    });

    it('add-lead: a reply lost after the portal added the lead is retried without adding a second lead', async () => {
      loseNextLeadReply = true;
      const out = await runToEnd(f, 'lead', { title: 'Call me', phone: '+79995550000', dealId });
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      const key = `${out.runId}:add:1`;
      const leads = emu.store.list('lead', { filter: { '=ORIGIN_ID': key } }).result as Record<string, any>[];
      assert.equal(leads.length, 1, 'one lead for the step');
      assert.equal(leads[0]!.ORIGINATOR_ID, 'conveyor');
      assert.equal(leads[0]!.TITLE, 'Call me');
      assert.equal(leads[0]!.SOURCE_ID, 'WEB');
      assert.deepEqual(out.context.add, { id: Number(leads[0]!.ID), created: false });
      const steps = (await getRun(f, out.runId)).steps.filter((s: any) => s.stepId === 'add');
      assert.deepEqual(steps.map((s: any) => [s.attempt, s.state, s.error?.code ?? null]), [[1, 'retrying', 'BITRIX24_UNAVAILABLE'], [2, 'succeeded', null]]);
      assert.equal(emu.count({ method: 'crm.lead.add' }), 1, 'the retry found the lead instead of adding one');
      assert.equal(emu.store.get('deal', dealId).COMMENTS, 'Call me', 'update-deal wrote the deal');
    });

    it('add-deal: a reply lost after the portal added the deal is retried without adding a second deal; the next step loads it', async () => {
      loseNextDealReply = true;
      const contactId = emu.add('contact', { NAME: 'Vera' });
      const out = await runToEnd(f, 'order', { title: 'Order 77', contactId, total: 12500 });
      assert.equal(out.state, 'succeeded', JSON.stringify(out));
      const deals = emu.store.list('deal', { filter: { '=ORIGIN_ID': `${out.runId}:create:1` } }).result as Record<string, any>[];
      assert.equal(deals.length, 1, 'one deal for the step');
      assert.deepEqual(out.context.create, { id: Number(deals[0]!.ID), created: false });
      assert.equal(out.context.load.TITLE, 'Order 77');
      assert.equal(out.context.load.CONTACT_ID, String(contactId));
      assert.equal(out.context.load.SOURCE_ID, 'WEB');
      assert.equal(out.context.load.ORIGINATOR_ID, 'conveyor');
      const steps = (await getRun(f, out.runId)).steps.filter((s: any) => s.stepId === 'create');
      assert.deepEqual(steps.map((s: any) => [s.attempt, s.state, s.error?.code ?? null]), [[1, 'retrying', 'BITRIX24_UNAVAILABLE'], [2, 'succeeded', null]]);
      assert.equal(emu.count({ method: 'crm.deal.add' }), 1, 'the retry found the deal instead of adding one');
    });

    it('an auth error fails the step at once, not retried, with the Bitrix24 message and without the secret', async () => {
      const secret = emu.secret;
      emu.secret = 'rotated-by-an-admin';
      try {
        const before = emu.count({ method: 'crm.duplicate.findbycomm' });
        const out = await runToEnd(f, 'strict', { phone: '+79990000001' });
        assert.equal(out.state, 'failed');
        const steps = (await getRun(f, out.runId)).steps;
        assert.equal(steps.length, 1, 'one attempt only');
        assert.equal(steps[0].error.code, 'BITRIX24_CONFIG_ERROR');
        assert.equal(steps[0].error.retryable, false);
        assert.match(steps[0].error.message, /Invalid request credentials/);
        assert.ok(!JSON.stringify(out).includes(secret) && !JSON.stringify(steps).includes(secret), 'the webhook secret is not shown');
        assert.equal(emu.count({ method: 'crm.duplicate.findbycomm' }) - before, 1);
      } finally {
        emu.secret = secret;
      }
    });
  });
}
