import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRateLimiter,
  createRoistatClient,
  inBatches,
  RoistatRateLimitError,
  RoistatRequestError,
  RoistatUnavailableError,
  type RoistatClientRecord,
} from '../../../src/connectors/roistat/index.js';
import { startRoistatEmulator, type RoistatEmulator } from './emulator.js';

const clientsRange = (from: number, n: number): RoistatClientRecord[] =>
  Array.from({ length: n }, (_, i) => ({ id: `c${from + i}`, name: `Клиент ${from + i}` }));

describe('inBatches', () => {
  it('splits into chunks of at most the given size, keeping order', () => {
    const ids = Array.from({ length: 250 }, (_, i) => i);
    const batches = inBatches(ids, 100);
    assert.deepEqual(batches.map((b) => b.length), [100, 100, 50]);
    assert.deepEqual(batches.flat(), ids);
    assert.deepEqual(inBatches([], 100), []);
    assert.throws(() => inBatches(ids, 0), RangeError);
  });
});

describe('rate limiter', () => {
  it('keeps requests to the emulator within the per-second budget', async () => {
    // The emulator allows 5/s too, so an over-eager client would also see 429s.
    const emu = await startRoistatEmulator({ perSecond: 5 });
    try {
      const c = createRoistatClient({ baseUrl: emu.url, apiKey: emu.apiKey, project: emu.project, rateLimit: { perSecond: 5, perHour: 1000 } });
      // 9 concurrent calls: all share the one limiter of this client.
      await Promise.all(Array.from({ length: 9 }, (_, i) => c.addOrders([{ id: `o${i}` }])));
      const times = emu.requests.map((r) => r.at).sort((a, b) => a - b);
      assert.equal(times.length, 9);
      assert.ok(emu.requests.every((r) => r.outcome === 'success'), 'no 429 from the server');
      for (let i = 0; i + 5 < times.length; i++) {
        assert.ok(times[i + 5] - times[i] >= 1000, `6 requests within ${times[i + 5] - times[i]} ms`);
      }
      assert.ok(times.at(-1)! - times[0] < 2500, 'but it does not crawl either');
    } finally {
      await emu.close();
    }
  });

  it('holds a slot while the request is in flight and for a second after its reply', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    };
    const limiter = createRateLimiter({ perSecond: 2, perHour: 100 }, { clock: { now: () => now }, sleep, marginMs: 0 });
    const r1 = await limiter.acquire();
    const r2 = await limiter.acquire();
    let third = false;
    const p3 = limiter.acquire().then((r) => ((third = true), r));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(third, false, 'both slots are in flight');
    now = 500;
    r1(); // reply to the first arrived at t=500
    const r3 = await p3;
    assert.equal(now, 1500, 'the slot frees one second after the reply, not after the send');
    r2();
    r3();
  });

  it('refuses, rather than waits, when the hourly budget is spent', async () => {
    let now = 1_000_000;
    const limiter = createRateLimiter({ perSecond: 100, perHour: 3 }, { clock: { now: () => now } });
    for (let i = 0; i < 3; i++) (await limiter.acquire())();
    now += 60_000;
    await assert.rejects(limiter.acquire(), (e: unknown) => {
      assert.ok(e instanceof RoistatRateLimitError);
      assert.equal(e.retryAfterMs, 3_600_000 - 60_000);
      return true;
    });
    now += 3_600_000 - 60_000;
    (await limiter.acquire())(); // the hour has rolled over
  });
});

describe('bisection against the emulator', () => {
  let emu: RoistatEmulator;
  before(async () => {
    emu = await startRoistatEmulator({ perSecond: 0 });
  });
  after(() => emu.close());
  const client = () =>
    createRoistatClient({ baseUrl: emu.url, apiKey: emu.apiKey, project: emu.project, rateLimit: { perSecond: 200, perHour: 5000 } });

  it('isolates one bad record in a batch of 100 while the other 99 are stored', async () => {
    const records = clientsRange(1, 100);
    emu.rejectIds.add('c37');
    const before = emu.requests.length;
    const { results, calls } = await client().importClientsInBatches(records, { batchSize: 100 });
    emu.rejectIds.clear();

    assert.equal(results.length, 100);
    const failed = results.filter((r) => !r.ok);
    assert.deepEqual(failed.map((r) => r.record.id), ['c37']);
    const f = failed[0];
    assert.ok(!f.ok && f.sent && f.error instanceof RoistatRequestError);
    assert.equal(emu.clients.size, 99);
    assert.equal(emu.clients.has('c37'), false);
    for (const r of records) if (r.id !== 'c37') assert.ok(emu.clients.has(r.id), `${r.id} stored`);
    assert.equal(calls, emu.requests.length - before);
    assert.ok(calls <= 2 * Math.ceil(Math.log2(100)) + 1, `bisection took ${calls} calls`);
  });

  it('stops on an outage and reports the unsent records as retryable', async () => {
    emu.orders.clear();
    const orders = Array.from({ length: 250 }, (_, i) => ({ id: `d${i}` }));
    let sent = 0;
    const c = client();
    const { results, replies } = await (async () => {
      const original = c.addOrders;
      // Take the emulator down after the first batch has gone through.
      c.addOrders = async (batch) => {
        if (sent++ === 1) emu.down = true;
        return original(batch);
      };
      try {
        return await c.addOrdersInBatches(orders);
      } finally {
        emu.down = false;
      }
    })();
    assert.equal(replies.length, 1);
    assert.equal(replies[0].saved, 100);
    assert.equal(emu.orders.size, 100);
    assert.equal(results.filter((r) => r.ok).length, 100);
    const unsent = results.filter((r) => !r.ok);
    assert.equal(unsent.length, 150);
    for (const r of unsent) assert.ok(!r.ok && !r.sent && r.error instanceof RoistatUnavailableError && r.error.retryable);
  });
});
