// A module in another language joins over HTTP with nothing but the documented contract:
// test/flows/transports/fixtures/http_module.py (python3 stdlib) runs as a real process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createHttpTransport, type HttpTransport } from '../../../src/flows/transports/index.js';
import { makeCall, startServer, type TestServer } from './support.js';

const SECRET = 'py-module-secret';
const script = fileURLToPath(new URL('./fixtures/http_module.py', import.meta.url));

describe('HTTP transport with a python3 module', () => {
  let child: ChildProcess;
  let moduleUrl: string;
  let hub: TestServer;
  let transport: HttpTransport;

  before(async () => {
    child = spawn('python3', [script], { env: { ...process.env, CONVEYOR_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] });
    const [port] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    moduleUrl = `http://127.0.0.1:${port.trim()}/`;
    hub = await startServer(async (req, body, res) => {
      const token = req.url!.split('/').pop()!;
      const done = await transport.handleCallback(token, body, req.headers['x-conveyor-signature'] as string | undefined);
      res.writeHead(done ? 204 : 404).end();
    });
    transport = createHttpTransport({ url: moduleUrl, secret: SECRET, timeoutMs: 5_000, callbackBaseUrl: `${hub.url}/callbacks` });
  });
  after(async () => {
    child.kill();
    await hub.close();
  });

  it('gets the output of a synchronous answer', async () => {
    const outcome = await transport.call(makeCall({ input: { name: 'Anna' }, options: { mode: 'sync' } }), new AbortController().signal);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.ok && (outcome.output as { greeting: string }).greeting, 'hello Anna');
  });

  it('gets the output through a signed callback after a 202', async () => {
    const outcome = await transport.call(makeCall({ input: { name: 'Boris' }, options: { mode: 'callback' } }), new AbortController().signal);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.ok && (outcome.output as { greeting: string }).greeting, 'hello Boris');
  });

  it('lets the module dedupe a retried step on its idempotency key', async () => {
    const first = makeCall({ input: { name: 'Vera' }, options: { mode: 'sync' } });
    const a = await transport.call(first, new AbortController().signal);
    const b = await transport.call({ ...first, attempt: 2, input: { name: 'changed' } }, new AbortController().signal);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(b.output, a.output, 'the second attempt sees the first attempt’s side effect, not a new one');
    assert.equal((b.output as { firstAttempt: number }).firstAttempt, 1);
  });

  it('passes the module’s own error through', async () => {
    const outcome = await transport.call(makeCall({ input: {}, options: { mode: 'fail' } }), new AbortController().signal);
    assert.deepEqual(outcome, { ok: false, error: { code: 'NO_NAME', message: 'input.name is missing', retryable: false } });
  });

  it('is refused by the module when signed with the wrong secret', async () => {
    const wrong = createHttpTransport({ url: moduleUrl, secret: 'not-the-secret', timeoutMs: 5_000 });
    const outcome = await wrong.call(makeCall({ input: { name: 'Eve' } }), new AbortController().signal);
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.code, 'MODULE_HTTP_401');
    assert.equal(outcome.error.retryable, false);
    assert.match(outcome.error.message, /signature or timestamp does not verify/);
  });
});
