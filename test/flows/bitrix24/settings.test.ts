import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBitrix24Modules, configuredLocalModules } from '../../../src/flows/modules/index.js';
import { localTransport, type StepCall } from '../../../src/flows/runtime/index.js';
import { loadConfig, redactConfig } from '../../../src/platform/config/index.js';

const call = (module: string, input: unknown): StepCall => ({ runId: 'r', flowId: 'f', flowVersion: 1, stepId: 's', module, attempt: 1, idempotencyKey: 'r:s:1', input, options: {}, deadline: Date.now() + 5000 });
const WEBHOOK = 'https://portal.example/rest/7/s3cr3t-webhook-code/';

test('flows.bitrix24 with both auth kinds, or half of OAuth, stops the start naming the keys; a bad webhook URL does not echo its secret', () => {
  assert.throws(() => createBitrix24Modules({ webhookUrl: WEBHOOK, portalUrl: 'https://portal.example', accessToken: 't', originator: 'conveyor' }), /either webhookUrl or portalUrl \+ accessToken, not both/);
  assert.throws(() => createBitrix24Modules({ portalUrl: 'https://portal.example', originator: 'conveyor' }), /flows\.bitrix24: accessToken is missing/);
  assert.throws(
    () => createBitrix24Modules({ webhookUrl: 'https://portal.example/hook/s3cr3t-webhook-code', originator: 'conveyor' }),
    (err: Error) => /flows\.bitrix24: Bitrix24 webhook URL must look like/.test(err.message) && !err.message.includes('s3cr3t'),
  );
  assert.deepEqual(createBitrix24Modules({ webhookUrl: WEBHOOK, originator: 'conveyor' }).map((m) => m.name), ['bitrix24.find-contact', 'bitrix24.find-deal', 'bitrix24.get-deal', 'bitrix24.add-lead', 'bitrix24.add-deal', 'bitrix24.update-deal']);
});

test('without flows.bitrix24 the modules exist and each call fails, not retried, naming the config key', async () => {
  for (const module of createBitrix24Modules(undefined)) {
    const out = await localTransport(module).call(call(module.name, { id: 1, phone: '+7' }), new AbortController().signal);
    assert.deepEqual(out.ok ? null : [out.error.code, out.error.retryable], ['BITRIX24_NOT_CONFIGURED', false], module.name);
    assert.match(out.ok ? '' : out.error.message, /flows\.bitrix24\.webhookUrl/);
  }
});

test('bad input is refused before any call, every problem in the message', async () => {
  const [findContact, findDeal, getDeal, addLead] = createBitrix24Modules({ webhookUrl: WEBHOOK, originator: 'conveyor' }).map((m) => localTransport(m));
  const signal = new AbortController().signal;
  const errorOf = async (t: typeof findContact, input: unknown) => {
    const out = await t!.call(call('m', input), signal);
    return out.ok ? 'ok' : `${out.error.code} ${out.error.retryable} ${out.error.message}`;
  };
  assert.match(await errorOf(findContact, {}), /^BAD_INPUT false .*neither phone nor email/);
  assert.match(await errorOf(getDeal, { id: 'abc' }), /^BAD_INPUT false .*input\.id must be a CRM id/);
  assert.match(await errorOf(findDeal, { contactId: '-3' }), /^BAD_INPUT false .*input\.contactId/);
  assert.match(await errorOf(addLead, { request: {}, title: 'x' }), /^BAD_INPUT false .*"request", "title" are not Bitrix24 field names/);
  // No contact and no filter: nothing to look for, and no request to the (unreachable) portal.
  assert.deepEqual(await findDeal!.call(call('m', { contactId: null }), signal), { ok: true, output: { value: null } });
});

test('the config schema takes flows.bitrix24 and the printed config masks its secrets', () => {
  const config = loadConfig({ env: {}, overrides: { flows: { bitrix24: { webhookUrl: WEBHOOK, rateLimit: { drainPerSecond: 5, burst: 250 } } } } });
  assert.equal(config.flows.bitrix24?.originator, 'conveyor');
  const printed = JSON.stringify(redactConfig(config));
  assert.ok(!printed.includes('s3cr3t'), printed);
  assert.match(printed, /"webhookUrl":"https:\/\/portal\.example\/rest\/\*\*\*"/);
  const oauth = redactConfig(loadConfig({ env: {}, overrides: { flows: { bitrix24: { portalUrl: 'https://portal.example', accessToken: 'tok-123' } } } }));
  assert.equal(oauth.flows.bitrix24?.accessToken, '***');
  assert.throws(() => loadConfig({ env: {}, overrides: { flows: { bitrix24: { webhookUrl: WEBHOOK, rateLimit: { burst: 0 }, extra: 1 } } } }), /flows\.bitrix24/);
});

test('configured modules step aside for modules of the same name given by plugins or tests', () => {
  const flows = loadConfig({ env: {}, overrides: { flows: { bitrix24: { webhookUrl: WEBHOOK } } } }).flows;
  const names = configuredLocalModules(flows, {}, [{ name: 'bitrix24.get-deal', run: () => null }]).map((m) => m.name);
  assert.deepEqual(names, ['bitrix24.find-contact', 'bitrix24.find-deal', 'bitrix24.add-lead', 'bitrix24.add-deal', 'bitrix24.update-deal']);
});
