import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  Bitrix24ConfigError,
  Bitrix24RequestError,
  Bitrix24UnavailableError,
  createBitrix24Client,
  type Bitrix24Auth,
  type Bitrix24ClientOptions,
} from '../../../src/connectors/bitrix24/index.js';
import { startBitrix24Emulator, type Bitrix24Emulator } from './emulator.js';
import { captureLog, rejection } from '../../support/capture.js';


const fast = { burst: 1000, drainPerSecond: 1000 };

describe('Bitrix24 client against the emulator', () => {
  let emu: Bitrix24Emulator;
  before(async () => {
    emu = await startBitrix24Emulator({ threshold: 0 });
  });
  after(() => emu.close());
  afterEach(() => {
    emu.down = false;
    emu.faults.length = 0;
    emu.scopes = new Set(['crm']);
    emu.expiredTokens.clear();
    for (const rows of Object.values(emu.store.rows)) rows.clear();
  });
  const client = (opts: Bitrix24ClientOptions = {}, auth: Bitrix24Auth = { webhookUrl: emu.webhookUrl }) =>
    createBitrix24Client(auth, { rateLimit: fast, ...opts });

  it('calls a method with a JSON POST and returns result plus the time block', async () => {
    const before = emu.requests.length;
    const id = await client().call<number>('crm.deal.add', { fields: { TITLE: 'Новая', OPPORTUNITY: 100 } });
    assert.equal(typeof id, 'number');
    const reply = await client().callRaw<Record<string, string>>('crm.deal.get', { id });
    assert.equal(reply.result.TITLE, 'Новая');
    assert.equal(typeof reply.time?.start, 'number');
    assert.equal(typeof reply.time?.operating, 'number');
    assert.match(String(reply.time?.date_start), /^\d{4}-\d\d-\d\dT/);
    const seen = emu.requests.slice(before);
    assert.deepEqual(seen.map((r) => [r.httpMethod, r.contentType, r.auth]), [
      ['POST', 'application/json', 'webhook'],
      ['POST', 'application/json', 'webhook'],
    ]);
  });

  it('pages through a list with next/total, 50 rows a page, and bounds listAll', async () => {
    for (let i = 1; i <= 120; i++) emu.add('deal', { TITLE: `Сделка ${i}`, OPPORTUNITY: i });
    const pages = [];
    for await (const page of client().pages<{ ID: string }>('crm.deal.list', { select: ['ID'], order: { ID: 'ASC' } })) pages.push(page);
    assert.deepEqual(pages.map((p) => [p.items.length, p.total, p.next]), [
      [50, 120, 50],
      [50, 120, 100],
      [20, 120, undefined],
    ]);
    assert.equal(pages[2].items.at(-1)!.ID, String([...emu.store.rows.deal.keys()].at(-1)));

    const before = emu.count({ method: 'crm.deal.list' });
    const some = await client().listAll('crm.deal.list', { filter: { '>OPPORTUNITY': 10 } }, { maxItems: 70 });
    assert.equal(some.length, 70);
    assert.equal(emu.count({ method: 'crm.deal.list' }) - before, 2);

    const noCount = await client().callRaw<unknown[]>('crm.deal.list', { start: -1, select: ['ID'] });
    assert.equal(noCount.result.length, 50);
    assert.equal(noCount.total, undefined);
    assert.equal(noCount.next, undefined);
  });

  it('reports wrong webhook secrets, bad or expired tokens and missing scope as config errors, without retrying', async () => {
    const wrong = emu.webhookUrl.replace(emu.secret, `${emu.secret}x`);
    const before = emu.requests.length;
    const e1 = await rejection(client({}, { webhookUrl: wrong }).call('crm.deal.list'));
    assert.ok(e1 instanceof Bitrix24ConfigError, String(e1));
    assert.equal(e1.apiError, 'INVALID_CREDENTIALS');
    assert.equal(e1.httpStatus, 401);
    assert.equal(e1.retryable, false);
    assert.equal(emu.requests.length - before, 1, 'an auth error is not retried');

    const bad = await rejection(client({}, { portalUrl: emu.url, accessToken: 'nope' }).call('crm.deal.list'));
    assert.ok(bad instanceof Bitrix24ConfigError);
    assert.equal(bad.apiError, 'NO_AUTH_FOUND');

    emu.expiredTokens.add('old-token');
    const expired = await rejection(client({}, { portalUrl: emu.url, accessToken: 'old-token' }).call('crm.deal.list'));
    assert.ok(expired instanceof Bitrix24ConfigError);
    assert.equal(expired.apiError, 'expired_token');

    emu.scopes = new Set(['user']);
    const scope = await rejection(client().call('crm.deal.list'));
    assert.ok(scope instanceof Bitrix24ConfigError);
    assert.equal(scope.apiError, 'insufficient_scope');
    assert.equal(scope.httpStatus, 403);
  });

  it('works over OAuth: token in the body, refreshed once after expired_token', async () => {
    const [good] = [...emu.accessTokens];
    const ok = await client({}, { portalUrl: emu.url, accessToken: good }).call('crm.deal.list');
    assert.deepEqual(ok, []);
    assert.equal(emu.requests.at(-1)!.auth, 'oauth');
    assert.ok(!emu.rawUrls.at(-1)!.includes(good), 'the token never travels in the URL');

    emu.expiredTokens.add('stale');
    let refreshes = 0;
    const c = client({}, { portalUrl: emu.url, accessToken: 'stale', refreshAccessToken: async () => (refreshes++, good) });
    assert.deepEqual(await c.call('crm.deal.list'), []);
    assert.equal(refreshes, 1);
  });

  it('rejects malformed credentials up front, naming only the portal', () => {
    assert.throws(() => createBitrix24Client({ webhookUrl: 'https://x.bitrix24.ru/rest/secret-only/' }), (e: Error) => {
      assert.ok(e instanceof Bitrix24ConfigError);
      assert.ok(!e.message.includes('secret-only'), e.message);
      assert.match(e.message, /https:\/\/x\.bitrix24\.ru/);
      return true;
    });
    assert.throws(() => createBitrix24Client({ webhookUrl: 'not a url' }), Bitrix24ConfigError);
    assert.throws(() => createBitrix24Client({ portalUrl: 'ftp://x', accessToken: '' }), /portalUrl.*; accessToken is empty/);
  });

  it('maps CRM errors to request errors carrying error_description', async () => {
    const notFound = await rejection(client().call('crm.deal.get', { id: 999 }));
    assert.ok(notFound instanceof Bitrix24RequestError);
    assert.equal(notFound.notFound, true);
    assert.equal(notFound.description, 'Not found');
    assert.equal(notFound.httpStatus, 400);

    const email = await rejection(client().call('crm.contact.add', { fields: { EMAIL: [{ VALUE: 'not-an-email' }] } }));
    assert.ok(email instanceof Bitrix24RequestError);
    assert.equal(email.apiError, 'ERROR_CORE');
    assert.equal(email.notFound, false);
    assert.match(email.message, /crm\.contact\.add failed: ERROR_CORE: Invalid e-mail/);

    const fields = await rejection(client().call('crm.lead.add', { fields: 'x' }));
    assert.ok(fields instanceof Bitrix24RequestError);
    assert.equal(fields.description, "Parameter 'fields' must be array.");

    const method = await rejection(client().call('crm.nothing.here'));
    assert.ok(method instanceof Bitrix24RequestError);
    assert.equal(method.apiError, 'ERROR_METHOD_NOT_FOUND');
  });

  it('treats 5xx, HTML pages and unreachable portals as unavailable (retryable)', async () => {
    emu.down = true;
    const down = await rejection(client().call('crm.deal.list'));
    assert.ok(down instanceof Bitrix24UnavailableError, String(down));
    assert.equal(down.httpStatus, 503);
    assert.equal(down.retryable, true);
    emu.down = false;

    emu.faults.push({ httpStatus: 500, error: 'INTERNAL_SERVER_ERROR', description: 'Internal server error', times: 1 });
    assert.ok((await rejection(client().call('crm.deal.list'))) instanceof Bitrix24UnavailableError);
    emu.faults.push({ method: 'crm.deal.list', httpStatus: 502, html: true, times: 1 });
    assert.ok((await rejection(client().call('crm.deal.list'))) instanceof Bitrix24UnavailableError);
    assert.deepEqual(await client().call('crm.deal.list'), [], 'faults were used up');

    const closed = await startBitrix24Emulator();
    const url = closed.webhookUrl;
    await closed.close();
    const refused = await rejection(client({}, { webhookUrl: url }).call('crm.deal.list'));
    assert.ok(refused instanceof Bitrix24UnavailableError, String(refused));
  });

  it('never puts the webhook secret or the OAuth token in logs or errors', async () => {
    const log = captureLog();
    const errors: unknown[] = [];
    const c = client({ log });
    await c.call('crm.deal.list');
    errors.push(await rejection(c.call('crm.deal.get', { id: 5 })));
    emu.down = true;
    errors.push(await rejection(c.call('crm.deal.list')));
    emu.down = false;
    const wrong = emu.webhookUrl.replace(emu.secret, `${emu.secret}0`);
    errors.push(await rejection(client({ log }, { webhookUrl: wrong }).call('crm.deal.list')));
    const dead = `http://127.0.0.1:1/rest/1/${emu.secret}/`;
    errors.push(await rejection(client({ log, timeoutMs: 2000 }, { webhookUrl: dead }).call('crm.deal.list')));
    const [token] = [...emu.accessTokens];
    await client({ log }, { portalUrl: emu.url, accessToken: token }).call('crm.deal.list');
    errors.push(await rejection(client({ log }, { portalUrl: 'http://127.0.0.1:1', accessToken: token }).call('crm.deal.list')));

    assert.ok(log.lines.length >= 6, 'the client logged its calls');
    for (const line of log.lines) {
      assert.ok(!line.includes(emu.secret), `secret leaked in log: ${line}`);
      assert.ok(!line.includes(token), `token leaked in log: ${line}`);
    }
    for (const e of errors) {
      const text = `${inspect(e, { depth: 5 })} ${JSON.stringify(e)} ${String(e)}`;
      assert.ok(!text.includes(emu.secret), `secret leaked in an error: ${text}`);
      assert.ok(!text.includes(token), 'token leaked in an error');
    }
    assert.ok(log.lines.some((l) => l.includes(emu.url)), 'logs name the portal');
  });
});

describe('Bitrix24 emulator request formats', () => {
  let emu: Bitrix24Emulator;
  before(async () => {
    emu = await startBitrix24Emulator({ threshold: 0 });
  });
  after(() => emu.close());

  it('accepts form-encoded bodies and GET query strings with PHP-style brackets', async () => {
    const form = new URLSearchParams({
      'fields[TITLE]': 'Из формы',
      'fields[PHONE][0][VALUE]': '+79160000009',
      'fields[PHONE][0][VALUE_TYPE]': 'WORK',
    });
    const added = await fetch(`${emu.webhookUrl}crm.lead.add.json`, { method: 'POST', body: form });
    const id = ((await added.json()) as { result: number }).result;
    assert.equal(emu.store.rows.lead.get(id)?.TITLE, 'Из формы');
    assert.equal(emu.requests.at(-1)!.contentType, 'application/x-www-form-urlencoded');

    const query = 'FILTER[=%25TITLE]=Из%25&SELECT[]=ID&SELECT[]=PHONE';
    const listed = await fetch(`${emu.webhookUrl}crm.lead.list?${query}`);
    const body = (await listed.json()) as { result: Array<{ ID: string; PHONE: Array<{ VALUE: string }> }>; total: number; time: object };
    assert.equal(body.total, 1);
    assert.equal(body.result[0].PHONE[0].VALUE, '+79160000009');
    assert.ok(body.time);
    assert.equal(emu.requests.at(-1)!.httpMethod, 'GET');
  });
});
