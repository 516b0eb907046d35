// Against the real NATS JetStream server (NATS_URL, default 127.0.0.1:4222); fails loudly when it is down.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createNatsTransport, natsConsumerName, serveNatsModule } from '../../../src/flows/transports/index.js';
import { connectionUsers, shareConnection } from '../../../src/flows/transports/nats-connections.js';
import type { ModuleTransport } from '../../../src/flows/runtime/module.js';
import { NATS_SERVERS, makeCall, unique } from './support.js';

describe('NATS JetStream transport', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const cleanups: (() => Promise<unknown>)[] = [];
  const streams: string[] = [];

  before(async () => {
    nc = await connect({ servers: NATS_SERVERS });
    jsm = await jetstreamManager(nc);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  after(async () => {
    for (const s of streams) await jsm.streams.delete(s).catch(() => {});
    await nc.close();
  });

  /** A stream and subject prefix of this test alone. */
  function place() {
    const id = unique('');
    const stream = `TEST_MODULES_${id}`;
    streams.push(stream);
    return { servers: NATS_SERVERS, stream, subjectPrefix: `test.${id}.module` };
  }

  async function transportFor(p: ReturnType<typeof place>, module: string, timeoutMs = 10_000): Promise<ModuleTransport> {
    const t = await createNatsTransport({ ...p, module, timeoutMs });
    cleanups.push(() => t.close!());
    return t;
  }

  it('creates the work-queue stream and gets a served module’s output', async () => {
    const p = place();
    const t = await transportFor(p, 'bitrix24.find-deal');
    const info = await jsm.streams.info(p.stream);
    assert.deepEqual(info.config.subjects, [`${p.subjectPrefix}.>`]);
    assert.equal(info.config.retention, 'workqueue');
    const served = await serveNatsModule({ ...p, module: 'bitrix24.find-deal', handler: (input, call) => ({ found: input, key: call.idempotencyKey }) });
    cleanups.push(() => served.close());
    const call = makeCall({ module: 'bitrix24.find-deal' });
    const outcome = await t.call(call, new AbortController().signal);
    assert.deepEqual(outcome, { ok: true, output: { found: call.input, key: call.idempotencyKey } });
  });

  it('returns the module’s errors: its own code, and MODULE_ERROR for an unclassified throw', async () => {
    const p = place();
    const t = await transportFor(p, 'find-deal');
    const served = await serveNatsModule({
      ...p,
      module: 'find-deal',
      handler: (input) => {
        if ((input as { kind: string }).kind === 'coded') throw Object.assign(new Error('no deal for this phone'), { code: 'NO_DEAL', retryable: false });
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      },
    });
    cleanups.push(() => served.close());
    const coded = await t.call(makeCall({ input: { kind: 'coded' } }), new AbortController().signal);
    assert.deepEqual(coded, { ok: false, error: { code: 'NO_DEAL', message: 'no deal for this phone', retryable: false } });
    const plain = await t.call(makeCall({ input: { kind: 'plain' } }), new AbortController().signal);
    assert.deepEqual(plain, { ok: false, error: { code: 'MODULE_ERROR', message: 'socket hang up', retryable: false } });
  });

  it('times out with a retryable MODULE_TIMEOUT when no module consumes', async () => {
    const p = place();
    const t = await transportFor(p, 'nobody-home', 300);
    const outcome = await t.call(makeCall(), new AbortController().signal);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, 'MODULE_TIMEOUT');
    assert.equal(!outcome.ok && outcome.error.retryable, true);
  });

  it('fails a call at once with MODULE_UNREACHABLE when no stream takes it, and when the stream refuses it', async () => {
    const p = place();
    const t = await transportFor(p, 'find-deal', 30_000);
    await jsm.streams.delete(p.stream); // the hub's stream was removed under it
    const started = Date.now();
    const missing = await t.call(makeCall(), new AbortController().signal);
    assert.equal(!missing.ok && missing.error.code, 'MODULE_UNREACHABLE');
    assert.match(!missing.ok ? missing.error.message : '', /no JetStream stream captures this subject/);
    assert.equal(!missing.ok && missing.error.retryable, true);
    // A stream that captures the subject but stores nothing more (max_msgs 1, new messages refused).
    await jsm.streams.add({ name: p.stream, subjects: [`${p.subjectPrefix}.>`], max_msgs: 1, discard: DiscardPolicy.New });
    assert.equal((await t.call(makeCall({ input: { first: true } }), AbortSignal.timeout(300))).ok, false); // stored, nobody answers
    const full = await t.call(makeCall({ input: { second: true } }), new AbortController().signal);
    assert.equal(!full.ok && full.error.code, 'MODULE_UNREACHABLE');
    assert.match(!full.ok ? full.error.message : '', /JetStream refused it: .*maximum messages/i);
    assert.ok(Date.now() - started < 10_000, 'neither waited for the 30 s deadline');
  });

  it('transports and served modules of one process share a connection; closing one leaves the others working', async () => {
    const p = place();
    const serve = (module: string) => serveNatsModule({ ...p, module, handler: (input) => ({ module, input }) });
    const [a, b] = await Promise.all([createNatsTransport({ ...p, module: 'mod-a', timeoutMs: 5000 }), createNatsTransport({ ...p, module: 'mod-b', timeoutMs: 5000 })]);
    const [servedA, servedB] = await Promise.all([serve('mod-a'), serve('mod-b')]);
    cleanups.push(() => b.close!(), () => servedB.close());
    assert.equal(connectionUsers(p.servers, 'conveyor-hub'), 2, 'both transports on one connection');
    assert.equal(connectionUsers(p.servers, 'conveyor-modules'), 2, 'both served modules on one connection');
    assert.deepEqual(await a.call(makeCall({ module: 'mod-a', input: 1 }), new AbortController().signal), { ok: true, output: { module: 'mod-a', input: 1 } });
    await a.close!();
    await servedA.close();
    // The connection a and servedA used is still open for b and servedB.
    assert.deepEqual(await b.call(makeCall({ module: 'mod-b', input: 2 }), new AbortController().signal), { ok: true, output: { module: 'mod-b', input: 2 } });
    assert.equal(connectionUsers(p.servers, 'conveyor-hub'), 1);
  });

  it('publishes queued with soon() go out at the end of the turn in order; one that throws fails alone; release sends what is queued', async () => {
    const subject = `test.soon.${unique('')}`;
    const seen: string[] = [];
    const sub = nc.subscribe(subject, { callback: (_err, msg) => void seen.push(msg.string()) });
    await nc.flush();
    const shared = await shareConnection(NATS_SERVERS, 'conveyor-hub');
    const queued = [1, 2, 3].map((n) => shared.soon(() => (shared.nc.publish(subject, `m${n}`), n)));
    const broken = shared.soon(() => {
      throw new Error('no such subject');
    });
    const after = shared.soon(() => shared.nc.publish(subject, 'm4'));
    assert.deepEqual(seen, [], 'nothing was published within the turn');
    assert.deepEqual(await Promise.all(queued), [1, 2, 3]);
    await assert.rejects(broken, /no such subject/);
    await after;
    void shared.soon(() => shared.nc.publish(subject, 'm5'));
    await shared.release(); // before the turn ends: release sends it
    await nc.flush();
    const deadline = Date.now() + 2000;
    while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['m1', 'm2', 'm3', 'm4', 'm5']);
    sub.unsubscribe();
  });

  it('stores a re-published attempt once (Nats-Msg-Id) and answers every waiter', async () => {
    const p = place();
    const t = await transportFor(p, 'find-deal');
    let runs = 0;
    const served = await serveNatsModule({ ...p, module: 'find-deal', handler: () => ++runs });
    cleanups.push(() => served.close());
    const call = makeCall();
    const [a, b] = await Promise.all([t.call(call, new AbortController().signal), t.call(call, new AbortController().signal)]);
    assert.deepEqual([a, b], [{ ok: true, output: 1 }, { ok: true, output: 1 }]);
    assert.equal(runs, 1);
    // A new attempt of the same step is a new message: the module sees it.
    assert.deepEqual(await t.call({ ...call, attempt: 2 }, new AbortController().signal), { ok: true, output: 2 });
  });

  it('reads a garbage reply as MODULE_BAD_ANSWER and honours the abort signal', async () => {
    const p = place();
    const t = await transportFor(p, 'broken');
    const durable = natsConsumerName('broken');
    await jsm.consumers.add(p.stream, { durable_name: durable, filter_subject: `${p.subjectPrefix}.broken`, ack_policy: AckPolicy.Explicit });
    const messages = await (await jetstream(nc).consumers.get(p.stream, durable)).consume();
    cleanups.push(() => messages.close());
    const controller = new AbortController();
    void (async () => {
      for await (const m of messages) {
        const { input } = JSON.parse(m.string()) as { input: string };
        m.ack();
        if (input === 'hang') {
          controller.abort();
          continue;
        }
        const h = headers();
        h.set('Conveyor-Correlation-Id', m.headers!.get('Conveyor-Correlation-Id'));
        nc.publish(m.headers!.get('Conveyor-Reply-To'), 'Internal Server Error', { headers: h });
      }
    })();
    const garbage = await t.call(makeCall({ input: 'garbage' }), new AbortController().signal);
    assert.equal(!garbage.ok && garbage.error.code, 'MODULE_BAD_ANSWER');
    assert.equal(!garbage.ok && garbage.error.retryable, true);
    const hung = await t.call(makeCall({ input: 'hang' }), controller.signal);
    assert.equal(!hung.ok && hung.error.code, 'MODULE_ABORTED');
  });

  it('works with a module in a separate process written with the plain NATS client', async () => {
    const p = place();
    const t = await transportFor(p, 'adder');
    const script = fileURLToPath(new URL('./fixtures/nats_raw_module.mjs', import.meta.url));
    const child: ChildProcess = spawn(process.execPath, [script], {
      env: { ...process.env, NATS_SERVERS, STREAM: p.stream, SUBJECT: `${p.subjectPrefix}.adder`, DURABLE: 'adder' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => {
      child.kill();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    });
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    assert.equal(line, 'ready');
    const ok = await t.call(makeCall({ input: { a: 2, b: 40 }, attempt: 3 }), new AbortController().signal);
    assert.deepEqual(ok, { ok: true, output: { sum: 42, by: 'raw-node', attempt: 3 } });
    const bad = await t.call(makeCall({ input: { a: 'x' } }), new AbortController().signal);
    assert.deepEqual(bad, { ok: false, error: { code: 'NOT_NUMBERS', message: 'input.a and input.b must be numbers', retryable: false } });
  });

  it('keeps a call that runs past ack_wait (not redelivered); a handler that declares a signal sees it fire at the deadline', async () => {
    const p = place();
    const t = await transportFor(p, 'slow');
    let calls = 0;
    let fired: boolean | undefined;
    const served = await serveNatsModule({
      ...p,
      module: 'slow',
      ackWaitMs: 2000, // checked in every second: without that, JetStream would deliver the call again after 2 s
      handler: async (input, _call, signal) => {
        calls++;
        if (input === 'deadline') {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          fired = signal.aborted;
          return 'late';
        }
        await new Promise((resolve) => setTimeout(resolve, 3000));
        return 'done';
      },
    });
    cleanups.push(() => served.close());
    assert.deepEqual(await t.call(makeCall({ module: 'slow', input: 'long' }), new AbortController().signal), { ok: true, output: 'done' });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a redelivery would call the handler again meanwhile
    assert.equal(calls, 1, 'called once');
    const late = await t.call(makeCall({ module: 'slow', input: 'deadline', deadline: Date.now() + 300 }), new AbortController().signal);
    assert.equal(!late.ok && late.error.code, 'MODULE_TIMEOUT');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(fired, true, 'the handler’s signal fired at the deadline');
  });

  it('refuses an existing stream that does not capture the module subjects', async () => {
    const p = place();
    await jsm.streams.add({ name: p.stream, subjects: [`elsewhere.${unique('')}.>`] });
    await assert.rejects(createNatsTransport({ ...p, module: 'find-deal', timeoutMs: 1000 }), new RegExp(`${p.stream} exists but does not capture ${p.subjectPrefix}\\.>`));
  });
});
