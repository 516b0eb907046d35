import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_LOCAL_MODULES, localTransport, type StepCall, type StepOutcome } from '../../../src/flows/index.js';

const moduleNamed = (name: string) => localTransport(BUILTIN_LOCAL_MODULES.find((m) => m.name === name)!);
const call = (module: string, input: unknown, options: Record<string, unknown>): StepCall => ({
  runId: 'R',
  flowId: 'f',
  flowVersion: 1,
  stepId: 's',
  module,
  attempt: 1,
  idempotencyKey: 'R:s:1',
  input,
  options,
  deadline: Date.now() + 5000,
});
const run = async (module: string, input: unknown, options: Record<string, unknown>): Promise<StepOutcome> =>
  moduleNamed(module).call(call(module, input, options), new AbortController().signal);

describe('built-in flow modules', () => {
  it('set fills {{ path }} placeholders (typed when whole, text inside strings) and can merge', async () => {
    const input = { request: { name: 'Anna', total: 42 } };
    assert.deepEqual(await run('set', input, { values: { who: '{{ request.name }}', total: '{{request.total}}', line: 'Hi {{ request.name }} ({{ request.total }})', missing: '{{ request.nope }}' } }), {
      ok: true,
      output: { who: 'Anna', total: 42, line: 'Hi Anna (42)', missing: null },
    });
    assert.deepEqual(await run('set', { a: 1 }, { values: { b: 2 }, merge: true }), { ok: true, output: { a: 1, b: 2 } });
    const bad = await run('set', {}, { value: {} });
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error.message : '', /^set: unknown option "value" \(allowed: values, merge\)/);
  });

  it('transform maps fields through named operations and lists every bad option at once', async () => {
    const input = { request: { phone: '8 (999) 123-45-67', email: ' Anna@Example.COM ', total: '12,5', name: 'anna' } };
    const out = await run('transform', input, {
      fields: {
        phone: { from: 'request.phone', ops: ['phone'] },
        email: { from: 'request.email', ops: ['email'] },
        total: { from: 'request.total', ops: ['number'] },
        name: { from: 'request.name', ops: ['upper'] },
        source: { value: 'site' },
        city: { from: 'request.city', default: 'Moscow' },
        raw: 'request.name',
      },
    });
    assert.deepEqual(out, { ok: true, output: { phone: '+79991234567', email: 'anna@example.com', total: 12.5, name: 'ANNA', source: 'site', city: 'Moscow', raw: 'anna' } });
    const bad = await run('transform', input, { fields: { a: { from: 'x', ops: ['eval'] }, b: 7 }, extra: 1 });
    assert.equal(bad.ok, false);
    const message = !bad.ok ? bad.error.message : '';
    for (const part of ['unknown option "extra"', 'fields.a.ops: unknown operation "eval"', 'fields.b: must be a path']) assert.ok(message.includes(part), message);
  });

  it('delay refuses a bad ms; a module that throws a plain error is MODULE_ERROR, not retried', async () => {
    const bad = await run('delay', {}, { ms: -1 });
    assert.equal(!bad.ok && bad.error.code, 'BAD_OPTIONS');
    const boom = await localTransport({ name: 'boom', run: () => { throw new TypeError('x is undefined'); } }).call(call('boom', {}, {}), new AbortController().signal);
    assert.deepEqual(boom, { ok: false, error: { code: 'MODULE_ERROR', message: 'TypeError: x is undefined', retryable: false } });
  });

  describe('http-request against a real server', () => {
    let server: Server;
    let base = '';
    const seen: { method: string; url: string; body: string; key: string | undefined }[] = [];
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          seen.push({ method: req.method!, url: req.url!, body, key: req.headers['idempotency-key'] as string | undefined });
          if (req.url === '/fail') return res.writeHead(503).end('busy');
          if (req.url === '/refuse') return res.writeHead(400).end('bad');
          if (req.url === '/garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('{nope');
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: body ? JSON.parse(body) : null, url: req.url }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('sends the input (or the rendered body) as JSON with the idempotency key, and returns status and parsed body', async () => {
      const out = await run('http-request', { id: 5, name: 'A' }, { url: `${base}/deals/{{ id }}`, method: 'post' });
      assert.deepEqual(out, { ok: true, output: { status: 200, body: { echo: { id: 5, name: 'A' }, url: '/deals/5' } } });
      assert.equal(seen.at(-1)!.key, 'R:s:1');
      const custom = await run('http-request', { id: 5 }, { url: `${base}/x`, method: 'PUT', body: { deal: '{{ id }}' } });
      assert.deepEqual(custom.ok && custom.output, { status: 200, body: { echo: { deal: 5 }, url: '/x' } });
    });

    it('5xx and garbage are retryable, 4xx is not, an unreachable host is retryable', async () => {
      const fail = await run('http-request', {}, { url: `${base}/fail` });
      assert.deepEqual(!fail.ok && [fail.error.code, fail.error.retryable], ['HTTP_503', true]);
      const refuse = await run('http-request', {}, { url: `${base}/refuse` });
      assert.deepEqual(!refuse.ok && [refuse.error.code, refuse.error.retryable], ['HTTP_400', false]);
      const garbage = await run('http-request', {}, { url: `${base}/garbage` });
      assert.deepEqual(!garbage.ok && [garbage.error.code, garbage.error.retryable], ['HTTP_BAD_ANSWER', true]);
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const down = await run('http-request', {}, { url: `http://127.0.0.1:${port}/` });
      assert.deepEqual(!down.ok && [down.error.code, down.error.retryable], ['HTTP_UNREACHABLE', true]);
    });
  });
});
