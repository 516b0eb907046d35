// Against the real RabbitMQ (RABBITMQ_URL, default amqp://guest:guest@127.0.0.1:5672); fails loudly when it is down.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { createRabbitTransport, serveRabbitModule } from '../../../src/flows/transports/index.js';
import type { ModuleTransport } from '../../../src/flows/runtime/module.js';
import { RABBIT_URL, makeCall, unique } from './support.js';

describe('RabbitMQ transport', () => {
  let conn: ChannelModel;
  let admin: Channel;
  const cleanups: (() => Promise<unknown>)[] = [];
  const queues: string[] = [];

  before(async () => {
    conn = await amqp.connect(RABBIT_URL);
    admin = await conn.createChannel();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  after(async () => {
    for (const q of queues) await admin.deleteQueue(q);
    await conn.close();
  });

  /** A queue prefix of this test alone; the module queue is deleted after the suite. */
  function place(module: string) {
    const queuePrefix = `test.${unique('')}.module`;
    queues.push(`${queuePrefix}.${module}`);
    return { url: RABBIT_URL, module, queuePrefix };
  }

  async function transportFor(p: ReturnType<typeof place>, timeoutMs = 10_000): Promise<ModuleTransport> {
    const t = await createRabbitTransport({ ...p, timeoutMs });
    cleanups.push(() => t.close!());
    return t;
  }

  it('sends a persistent call to the durable module queue and gets the served module’s output', async () => {
    const p = place('bitrix24.find-deal');
    const t = await transportFor(p);
    const served = await serveRabbitModule({ ...p, handler: (input, call) => ({ found: input, attempt: call.attempt }) });
    cleanups.push(() => served.close());
    const call = makeCall({ attempt: 4 });
    assert.deepEqual(await t.call(call, new AbortController().signal), { ok: true, output: { found: call.input, attempt: 4 } });
    await served.close(); // an unacked call would go back to the queue here
    const queue = await admin.checkQueue(`${p.queuePrefix}.${p.module}`);
    assert.equal(queue.messageCount, 0, 'the call was acked once answered');
  });

  it('returns the module’s own error', async () => {
    const p = place('find-deal');
    const t = await transportFor(p);
    const served = await serveRabbitModule({
      ...p,
      handler: () => {
        throw Object.assign(new Error('portal refused the token'), { code: 'BITRIX_AUTH', retryable: false });
      },
    });
    cleanups.push(() => served.close());
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.deepEqual(outcome, { ok: false, error: { code: 'BITRIX_AUTH', message: 'portal refused the token', retryable: false } });
  });

  it('times out with a retryable MODULE_TIMEOUT when no module consumes', async () => {
    const p = place('nobody-home');
    const t = await transportFor(p, 300);
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'MODULE_TIMEOUT');
    assert.equal(!outcome.ok && outcome.error.retryable, true);
  });

  it('works with a module written with nothing but amqplib, and reads garbage as MODULE_BAD_ANSWER', async () => {
    const p = place('raw');
    const t = await transportFor(p);
    const ch = await conn.createChannel();
    cleanups.push(() => ch.close());
    const queue = `${p.queuePrefix}.raw`;
    await ch.assertQueue(queue, { durable: true });
    const seen: { persistent: boolean; correlationId: string }[] = [];
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      const call = JSON.parse(msg.content.toString()) as { input: unknown };
      seen.push({ persistent: msg.properties.deliveryMode === 2, correlationId: msg.properties.correlationId });
      const body = call.input === 'garbage' ? 'oops' : JSON.stringify({ output: { echoed: call.input } });
      ch.sendToQueue(msg.properties.replyTo, Buffer.from(body), { correlationId: msg.properties.correlationId });
      ch.ack(msg);
    });
    const call = makeCall({ input: 'hi', attempt: 2 });
    assert.deepEqual(await t.call(call, new AbortController().signal), { ok: true, output: { echoed: 'hi' } });
    assert.deepEqual(seen[0], { persistent: true, correlationId: `${call.idempotencyKey}:2` });
    const garbage = await t.call(makeCall({ input: 'garbage' }), new AbortController().signal);
    assert.equal(!garbage.ok && garbage.error.code, 'MODULE_BAD_ANSWER');
  });

  it('honours the abort signal while waiting', async () => {
    const p = place('slow');
    const t = await transportFor(p);
    const controller = new AbortController();
    const served = await serveRabbitModule({
      ...p,
      handler: () => {
        controller.abort();
        return 'too late';
      },
    });
    cleanups.push(() => served.close());
    const outcome = await t.call(makeCall(), controller.signal);
    assert.equal(!outcome.ok && outcome.error.code, 'MODULE_ABORTED');
  });

  it('fails the calls in flight when the connection drops, and reconnects on the next call', async () => {
    const p = place('flaky');
    const proxy = await startTcpProxy(5672);
    cleanups.push(() => proxy.close());
    const t = await createRabbitTransport({ ...p, url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, timeoutMs: 10_000 });
    cleanups.push(() => t.close!());
    const pending = t.call(makeCall(), new AbortController().signal); // nobody consumes yet
    while ((await admin.checkQueue(`${p.queuePrefix}.flaky`)).messageCount === 0) await new Promise((r) => setTimeout(r, 20));
    proxy.cut();
    const lost = await pending;
    assert.equal(!lost.ok && lost.error.code, 'MODULE_UNREACHABLE');
    assert.equal(!lost.ok && lost.error.retryable, true);
    await admin.purgeQueue(`${p.queuePrefix}.flaky`);
    const served = await serveRabbitModule({ ...p, handler: () => 'back' });
    cleanups.push(() => served.close());
    assert.deepEqual(await t.call(makeCall(), new AbortController().signal), { ok: true, output: 'back' });
  });

  it('a served module that loses the broker reconnects and takes calls again; the call in flight is redelivered', async () => {
    const p = place('resilient');
    const proxy = await startTcpProxy(5672);
    cleanups.push(() => proxy.close());
    let handled = 0;
    let release: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    const served = await serveRabbitModule({
      ...p,
      url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      handler: async (input) => {
        handled += 1;
        if (handled === 1) await firstHeld; // the first delivery is still running when the link drops
        return { echoed: input };
      },
    });
    cleanups.push(() => served.close());
    const t = await transportFor(p); // straight to the broker: only the module's link is cut
    const call = makeCall();
    const answer = t.call(call, new AbortController().signal);
    while (handled === 0) await new Promise((r) => setTimeout(r, 20));
    proxy.cut();
    release(); // its reply cannot go out on the dead channel: the unacked call goes back to the queue
    assert.deepEqual(await answer, { ok: true, output: { echoed: call.input } }, 'answered after the module reconnected');
    assert.equal(handled, 2, 'the call was delivered again after the reconnect');
    assert.deepEqual(await t.call(makeCall({ input: { n: 2 } }), new AbortController().signal), { ok: true, output: { echoed: { n: 2 } } });
  });

  it('refuses to start, without crashing, when the module queue exists with other settings', async () => {
    const p = place('transient');
    await admin.assertQueue(`${p.queuePrefix}.transient`, { durable: false });
    await assert.rejects(createRabbitTransport({ ...p, timeoutMs: 1_000 }), /PRECONDITION_FAILED/);
  });

  it('refuses to start against a broker it cannot reach, without showing the password', async () => {
    await assert.rejects(createRabbitTransport({ url: 'amqp://guest:hunter2@127.0.0.1:1', module: 'find-deal', timeoutMs: 5_000 }), (err: Error) => {
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(!err.message.includes('hunter2'));
      return true;
    });
  });
});

/** A TCP proxy to the broker on 127.0.0.1 whose connections the test can cut, as a network drop would. */
async function startTcpProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
