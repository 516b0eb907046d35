import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createHttpTransport, type HttpTransport, type HttpStepRequest } from '../../../src/flows/transports/index.js';
import { makeCall, postText, sendJson, startServer, type RawHandler, type TestServer } from './support.js';

const SECRET = 'module-secret-Zx81';

/** The check a module does, written here from the contract, not with the transport's own helper. */
function signedByHub(req: IncomingMessage, body: string): boolean {
  const ts = String(req.headers['x-conveyor-timestamp']);
  const expected = 'sha256=' + createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
  return req.headers['x-conveyor-signature'] === expected && Math.abs(Date.now() / 1000 - Number(ts)) <= 300;
}

const moduleSign = (token: string, body: string) => 'sha256=' + createHmac('sha256', SECRET).update(`${token}.${body}`).digest('hex');

describe('HTTP transport', () => {
  const servers: TestServer[] = [];
  const warnings: unknown[] = [];
  const log = { warn: (o: object, m?: string) => void warnings.push([o, m]) };
  let transport: HttpTransport | undefined;
  let hub: TestServer;

  // The hub side of callbacks: what the supervisor's route does with POST /callbacks/:token.
  before(async () => {
    hub = await startServer(async (req, body, res) => {
      const token = req.url!.split('/').pop()!;
      const sig = req.headers['x-conveyor-signature'] as string | undefined;
      const done = (await transport?.handleCallback(token, body, sig)) ?? false;
      res.writeHead(done ? 204 : 404).end();
    });
  });
  after(async () => {
    await hub.close();
    await Promise.all(servers.map((s) => s.close()));
    // Whatever went wrong, the secret never reaches a log line.
    assert.ok(!JSON.stringify(warnings).includes(SECRET));
  });

  async function moduleAt(handler: RawHandler, timeoutMs = 5_000): Promise<HttpTransport> {
    const server = await startServer(handler);
    servers.push(server);
    transport = createHttpTransport({ url: `${server.url}/find-deal`, secret: SECRET, timeoutMs, callbackBaseUrl: `${hub.url}/callbacks`, log });
    return transport;
  }

  it('POSTs the signed StepCall and returns the output of a 200 answer', async () => {
    let seen: { body: HttpStepRequest; key: unknown; attempt: unknown; signed: boolean } | undefined;
    const t = await moduleAt((req, body, res) => {
      seen = { body: JSON.parse(body), key: req.headers['idempotency-key'], attempt: req.headers['x-conveyor-attempt'], signed: signedByHub(req, body) };
      sendJson(res, 200, { output: { dealId: 42, phone: seen.body.input } });
    });
    const call = makeCall({ attempt: 2 });
    const outcome = await t.call(call, new AbortController().signal);
    assert.deepEqual(outcome, { ok: true, output: { dealId: 42, phone: call.input } });
    assert.ok(seen?.signed, 'signature and timestamp verify with the shared secret');
    assert.equal(seen.key, call.idempotencyKey);
    assert.equal(seen.attempt, '2');
    assert.equal(seen.body.idempotencyKey, call.idempotencyKey);
    assert.deepEqual(seen.body.options, call.options);
    assert.match(seen.body.callbackUrl!, new RegExp(`^${hub.url}/callbacks/${seen.body.callbackToken}$`));
  });

  it('waits for the callback after a 202; a badly signed callback is refused and does not decide the step', async () => {
    const statuses: number[] = [];
    const t = await moduleAt((_req, body, res) => {
      const { callbackUrl, callbackToken } = JSON.parse(body) as HttpStepRequest;
      sendJson(res, 202, { callback: true });
      void (async () => {
        const forged = JSON.stringify({ output: 'forged' });
        statuses.push(await postText(callbackUrl!, forged, { 'x-conveyor-signature': 'sha256=' + '0'.repeat(64) }));
        statuses.push(await postText(callbackUrl!, forged, {}));
        const real = JSON.stringify({ output: { dealId: 7 } });
        statuses.push(await postText(callbackUrl!, real, { 'x-conveyor-signature': moduleSign(callbackToken, real) }));
        statuses.push(await postText(callbackUrl!, real, { 'x-conveyor-signature': moduleSign(callbackToken, real) }));
      })();
    });
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.deepEqual(outcome, { ok: true, output: { dealId: 7 } });
    while (statuses.length < 4) await new Promise((r) => setImmediate(r));
    // forged, unsigned, accepted, replay of a used token
    assert.deepEqual(statuses, [404, 404, 204, 404]);
    assert.ok(warnings.some((w) => JSON.stringify(w).includes('bad signature')));
  });

  it('passes a module error from a callback through unchanged', async () => {
    const t = await moduleAt((_req, body, res) => {
      const { callbackUrl, callbackToken } = JSON.parse(body) as HttpStepRequest;
      sendJson(res, 202, { callback: true });
      const answer = JSON.stringify({ error: { code: 'DEAL_LOCKED', message: 'deal 7 is being edited', retryable: true } });
      void postText(callbackUrl!, answer, { 'x-conveyor-signature': moduleSign(callbackToken, answer) });
    });
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.deepEqual(outcome, { ok: false, error: { code: 'DEAL_LOCKED', message: 'deal 7 is being edited', retryable: true } });
  });

  it('times out a 202 whose callback never comes, and ignores a callback after that', async () => {
    let token = '';
    let url = '';
    const t = await moduleAt((_req, body, res) => {
      ({ callbackToken: token, callbackUrl: url } = JSON.parse(body) as HttpStepRequest & { callbackUrl: string });
      sendJson(res, 202, { callback: true });
    });
    const outcome = await t.call(makeCall({ deadline: Date.now() + 300 }), new AbortController().signal);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'MODULE_TIMEOUT');
    assert.equal(!outcome.ok && outcome.error.retryable, true);
    const late = JSON.stringify({ output: 1 });
    assert.equal(await postText(url, late, { 'x-conveyor-signature': moduleSign(token, late) }), 404);
  });

  it('turns a 4xx into a non-retryable error carrying the module message', async () => {
    const t = await moduleAt((_req, _body, res) => sendJson(res, 422, { error: { code: 'BAD_PHONE', message: 'phone +7999 is too short' } }));
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.code, 'MODULE_HTTP_422');
    assert.equal(outcome.error.retryable, false);
    assert.match(outcome.error.message, /phone \+7999 is too short/);
  });

  it('turns a 5xx into a retryable MODULE_HTTP_5xx', async () => {
    const t = await moduleAt((_req, _body, res) => res.writeHead(503).end('upstream down'));
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.code, 'MODULE_HTTP_503');
    assert.equal(outcome.error.retryable, true);
    assert.match(outcome.error.message, /upstream down/);
  });

  it('turns a garbage or shapeless 200 into a retryable MODULE_BAD_ANSWER', async () => {
    const bodies = ['<html>maintenance</html>', '[1,2]', '{"result": 1}', '{"error": {"message": "no code"}}'];
    let i = 0;
    const t = await moduleAt((_req, _body, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(bodies[i++]));
    for (const body of bodies) {
      const outcome = await t.call(makeCall(), new AbortController().signal);
      assert.equal(outcome.ok, false, body);
      assert.equal(!outcome.ok && outcome.error.code, 'MODULE_BAD_ANSWER', body);
      assert.equal(!outcome.ok && outcome.error.retryable, true, body);
    }
  });

  it('drops __proto__ keys from a module output', async () => {
    const t = await moduleAt((_req, _body, res) => res.writeHead(200).end('{"output": {"a": 1, "__proto__": {"polluted": true}}}'));
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.deepEqual(outcome, { ok: true, output: { a: 1 } });
  });

  it('times out a module that never answers with a retryable MODULE_TIMEOUT', async () => {
    const t = await moduleAt(() => {}, 200); // holds every request open
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'MODULE_TIMEOUT');
    assert.equal(!outcome.ok && outcome.error.retryable, true);
  });

  it('honours the abort signal while the request is in flight', async () => {
    const controller = new AbortController();
    const t = await moduleAt(() => controller.abort());
    const outcome = await t.call(makeCall(), controller.signal);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'MODULE_ABORTED');
  });

  it('reports a refused connection as a retryable MODULE_UNREACHABLE', async () => {
    const gone = await startServer(() => {});
    await gone.close();
    const t = createHttpTransport({ url: `${gone.url}/x?key=${SECRET}`, secret: SECRET, timeoutMs: 5_000, log });
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.code, 'MODULE_UNREACHABLE');
    assert.equal(outcome.error.retryable, true);
    assert.match(outcome.error.message, /ECONNREFUSED/);
    assert.ok(!outcome.error.message.includes(SECRET));
  });
});
