import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TEST_DATABASES } from '../../support/databases.js';
import { freePort } from '../../e2e/fixtures/hub-process.js';
import { eventually, startFlowHub, type FlowHub } from './support.js';

const SECRET = 'callback-test-secret';
const FLOW = `
id: priced
name: An HTTP module that answers later
steps:
  quote:
    subsystem: pricing
    next: []
`;

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};
const sign = (token: string, body: string) => `sha256=${createHmac('sha256', SECRET).update(`${token}.${body}`).digest('hex')}`;

for (const kind of TEST_DATABASES) {
  describe(`HTTP modules that answer 202 and call back (${kind})`, () => {
    let module: Server;
    let moduleUrl = '';
    let f: FlowHub;
    const callbacks: { url: string; status: number }[] = [];

    before(async () => {
      // A module that accepts the call, answers 202 at once, then posts the result to callbackUrl:
      // first with a forged signature (must be refused and change nothing), then properly signed.
      module = createServer(async (req, res) => {
        const raw = await readBody(req);
        const call = JSON.parse(raw) as { callbackUrl: string; callbackToken: string; input: { request: { amount: number } } };
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"callback":true}');
        const body = JSON.stringify({ output: { price: call.input.request.amount * 2 } });
        for (const signature of ['sha256=' + '0'.repeat(64), sign(call.callbackToken, body)]) {
          const r = await fetch(call.callbackUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-conveyor-signature': signature }, body });
          callbacks.push({ url: call.callbackUrl, status: r.status });
        }
      });
      await new Promise<void>((r) => module.listen(0, '127.0.0.1', r));
      moduleUrl = `http://127.0.0.1:${(module.address() as AddressInfo).port}/`;
      const port = await freePort();
      f = await startFlowHub(kind, {
        files: { 'priced.yaml': FLOW },
        flows: { publicUrl: `http://127.0.0.1:${port}`, modules: { pricing: { transport: 'http', url: moduleUrl, secret: SECRET } } },
      });
      await f.built.app.listen({ port, host: '127.0.0.1' });
    });

    after(async () => {
      await f?.close();
      await new Promise<void>((r) => module.close(() => r()));
    });

    it('completes the step from the signed callback; a forged one is refused and changes nothing', async () => {
      const res = await f.call('POST', '/flows/priced/requests?wait=15000', { body: { amount: 21 } });
      assert.equal(res.statusCode, 200, res.body);
      const run = res.json() as { state: string; context: Record<string, unknown> };
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(run.context.quote, { price: 42 });
      await eventually('the module saw both callback answers', () => callbacks.length === 2);
      assert.deepEqual(callbacks.map((c) => c.status), [404, 204]);
      assert.match(callbacks[0]!.url, /\/flows\/callbacks\/pricing\/[^/]+$/);
      // The token was single-use: replaying the good callback is refused.
      const again = await fetch(callbacks[1]!.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-conveyor-signature': 'sha256=00' }, body: '{}' });
      assert.equal(again.status, 404);
      const unknown = await fetch(`http://127.0.0.1:${(f.built.app.server.address() as AddressInfo).port}/flows/callbacks/nope/abc`, { method: 'POST', body: '{}' });
      assert.equal(unknown.status, 404);
    });
  });
}
