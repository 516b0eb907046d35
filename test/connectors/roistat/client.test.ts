import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  createRoistatClient,
  RoistatConfigError,
  RoistatRateLimitError,
  RoistatRequestError,
  RoistatUnavailableError,
} from '../../../src/connectors/roistat/index.js';
import { startRoistatEmulator, type RoistatEmulator } from './emulator.js';
import { captureLog, rejection } from '../../support/capture.js';


describe('Roistat client against the emulator', () => {
  let emu: RoistatEmulator;
  const fast = { perSecond: 100, perHour: 5000 };
  before(async () => {
    emu = await startRoistatEmulator({ perSecond: 0 });
  });
  after(() => emu.close());
  afterEach(() => {
    emu.down = false;
    emu.rejectIds.clear();
    emu.options.clientManagement = true;
  });
  const client = (over: Partial<Parameters<typeof createRoistatClient>[0]> = {}) =>
    createRoistatClient({ baseUrl: emu.url, apiKey: emu.apiKey, project: emu.project, rateLimit: fast, ...over });

  it('imports clients, upserting by id', async () => {
    const c = client();
    await c.importClients([
      { id: 'c1', name: 'Иванов', phone: '79990000001' },
      { id: 'c2', name: 'Петров', email: 'p@example.com' },
    ]);
    await c.importClients([{ id: 'c1', name: 'Иванов И.И.', phone: '79990000001' }]);
    assert.equal(emu.clients.get('c1')?.name, 'Иванов И.И.');
    assert.equal(emu.clients.get('c2')?.email, 'p@example.com');
    const last = emu.requests.at(-1)!;
    assert.equal(last.path, '/api/v1/project/clients/import');
    assert.equal(last.project, emu.project);
  });

  it('replaces the whole status list and returns add-orders counters from the reply', async () => {
    const c = client();
    await c.setStatuses([
      { id: '1', name: 'Новая', type: 'progress' },
      { id: '2', name: 'Оплачена', type: 'paid' },
    ]);
    await c.setStatuses([{ id: '3', name: 'Отменена', type: 'canceled' }]);
    assert.deepEqual(emu.statuses.map((s) => s.id), ['3']);

    const first = await c.addOrders([
      { id: 'o1', name: 'Сделка 1', status: '3', price: '3000', client_id: 'c1', date_create: 1_700_000_000 },
      { id: 'o2', name: 'Сделка 2', status: '3' },
      { name: 'no id' } as never,
    ]);
    assert.equal(first.processed, 3);
    assert.equal(first.saved, 2);
    assert.equal(first.skipped_by_invalid_format, 1);
    const again = await c.addOrders([{ id: 'o1', name: 'Сделка 1', status: '3', price: '3000', client_id: 'c1', date_create: 1_700_000_000 }]);
    assert.equal(again.saved, 0);
    assert.equal(again.skipped_because_not_changed, 1);
    assert.equal(emu.orders.get('o1')?.record.price, '3000');
    assert.equal(emu.orders.get('o2')?.statusKnown, true);
  });

  it('sends Use-Http-Code and detects errors even when they come as HTTP 200', async () => {
    // A fetch that drops Use-Http-Code: the emulator then answers every error with HTTP 200, as Roistat does.
    const stripping: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.delete('Use-Http-Code');
      return fetch(input, { ...init, headers });
    };
    emu.options.clientManagement = false;
    const err = await rejection(client({ fetch: stripping }).importClients([{ id: 'x', name: 'X' }]));
    assert.ok(err instanceof RoistatConfigError, String(err));
    assert.equal(emu.requests.at(-1)!.httpStatus, 200);
    assert.equal(err.httpStatus, 200);
    assert.equal(err.apiError, 'option_not_enabled');

    emu.options.clientManagement = true;
    emu.rejectIds.add('bad');
    const bad = await rejection(client({ fetch: stripping }).importClients([{ id: 'bad', name: 'B' }]));
    assert.ok(bad instanceof RoistatRequestError, String(bad));
    assert.equal(emu.requests.at(-1)!.httpStatus, 200);
    assert.equal(emu.clients.has('bad'), false);
  });

  it('surfaces configuration problems as RoistatConfigError with real HTTP codes', async () => {
    const wrongKey = await rejection(client({ apiKey: 'not-the-key' }).setStatuses([]));
    assert.ok(wrongKey instanceof RoistatConfigError);
    assert.equal(wrongKey.code, 'ROISTAT_CONFIG_ERROR');
    assert.equal(wrongKey.retryable, false);
    assert.equal(wrongKey.httpStatus, 401);
    assert.equal(wrongKey.apiError, 'authentication_failed');

    const wrongProject = await rejection(client({ project: 999 }).setStatuses([]));
    assert.ok(wrongProject instanceof RoistatConfigError);

    emu.options.clientManagement = false;
    const option = await rejection(client().importClients([{ id: 'c9', name: 'N' }]));
    assert.ok(option instanceof RoistatConfigError);
    assert.equal(option.httpStatus, 402);
    assert.deepEqual(option.details, { option: 'clients' });

    assert.throws(() => createRoistatClient({ apiKey: ' ', project: 1 }), RoistatConfigError);
    assert.throws(() => createRoistatClient({ apiKey: 'k', project: '' }), RoistatConfigError);
  });

  it('reports a bad record as RoistatRequestError', async () => {
    const err = await rejection(client().importClients([{ id: 'c1' } as never]));
    assert.ok(err instanceof RoistatRequestError);
    assert.equal(err.code, 'ROISTAT_REQUEST_ERROR');
    assert.equal(err.apiError, 'request_data_validation_error');
  });

  it('treats 503 and an unreachable server as RoistatUnavailableError (retryable)', async () => {
    emu.down = true;
    const down = await rejection(client().addOrders([{ id: 'o9' }]));
    assert.ok(down instanceof RoistatUnavailableError, String(down));
    assert.equal(down.httpStatus, 503);
    assert.equal(down.retryable, true);
    assert.equal(emu.orders.has('o9'), false);

    const closed = await startRoistatEmulator();
    const url = closed.url;
    await closed.close();
    const refused = await rejection(client({ baseUrl: url }).addOrders([{ id: 'o9' }]));
    assert.ok(refused instanceof RoistatUnavailableError);
  });

  it('reports the server rate limit as RoistatRateLimitError with Retry-After, and holds the limiter back', async () => {
    const limited = await startRoistatEmulator({ perSecond: 1, retryAfterSeconds: 0.3 });
    try {
      const c = createRoistatClient({ baseUrl: limited.url, apiKey: limited.apiKey, project: limited.project, rateLimit: fast });
      await c.setStatuses([]);
      const err = await rejection(c.setStatuses([]));
      assert.ok(err instanceof RoistatRateLimitError);
      assert.equal(err.code, 'ROISTAT_RATE_LIMITED');
      assert.equal(err.retryAfterMs, 300);
      const t0 = Date.now();
      (await c.limiter.acquire())(); // paused by the 429 for Retry-After
      assert.ok(Date.now() - t0 >= 250, `limiter waited only ${Date.now() - t0} ms`);
    } finally {
      await limited.close();
    }
  });

  it('never puts the API key in logs, errors or URLs', async () => {
    const log = captureLog();
    const c = client({ log });
    await c.setStatuses([{ id: '1', name: 'A', type: 'progress' }]);
    await c.addOrders([{ id: 'o-log', status: '1' }]);
    const errors: unknown[] = [];
    emu.down = true;
    errors.push(await rejection(c.addOrders([{ id: 'o-log' }])));
    emu.down = false;
    errors.push(await rejection(client({ log, apiKey: `${emu.apiKey}-wrong` }).setStatuses([])));
    errors.push(await rejection(client({ log, baseUrl: 'http://127.0.0.1:1/api/v1' }).setStatuses([])));
    assert.ok(log.lines.length >= 5, 'the client logged its calls');
    for (const line of log.lines) assert.ok(!line.includes(emu.apiKey), `key leaked in log: ${line}`);
    for (const e of errors) {
      const text = `${inspect(e, { depth: 5 })} ${JSON.stringify(e)}`;
      assert.ok(!text.includes(emu.apiKey), 'key leaked in an error');
    }
    for (const u of emu.rawUrls) assert.ok(!u.includes(emu.apiKey), 'key sent in the URL');
  });
});
