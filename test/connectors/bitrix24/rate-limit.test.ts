import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Bitrix24OperationLimitError,
  Bitrix24RateLimitError,
  createBitrix24Client,
  createLeakyBucket,
} from '../../../src/connectors/bitrix24/index.js';
import { startBitrix24Emulator } from './emulator.js';
import { virtualTime } from './virtual-time.js';

describe('Bitrix24 rate limits', () => {
  it('a burst of 60 calls through a fresh limiter never overflows the portal bucket (2/s, 50)', async () => {
    const time = virtualTime();
    const emu = await startBitrix24Emulator({ clock: time.clock }); // the documented 2/s drain, threshold 50
    try {
      const client = createBitrix24Client({ webhookUrl: emu.webhookUrl }, { clock: time.clock, sleep: time.sleep, maxRateLimitRetries: 0 });
      const results = await Promise.all(Array.from({ length: 60 }, () => client.call('crm.deal.list')));
      assert.equal(results.length, 60);
      assert.equal(emu.count({ outcome: 'QUERY_LIMIT_EXCEEDED' }), 0);
      assert.equal(emu.count({ method: 'crm.deal.list', outcome: 'ok' }), 60);
      // 45 fit at once (50 minus the default reserve of 5); the other 15 drain at 2/s: 7.5 s of virtual time.
      assert.ok(time.elapsed() >= 7_500, `limiter paced the burst over ${time.elapsed()} ms of virtual time`);
    } finally {
      await emu.close();
    }
  });

  it('the same burst without our limiter does overflow the bucket (the check above can fail)', async () => {
    const time = virtualTime();
    const emu = await startBitrix24Emulator({ clock: time.clock });
    try {
      const loose = createBitrix24Client(
        { webhookUrl: emu.webhookUrl },
        { clock: time.clock, sleep: time.sleep, rateLimit: { burst: 1000, reserve: 0 }, maxRateLimitRetries: 0 },
      );
      const settled = await Promise.allSettled(Array.from({ length: 60 }, () => loose.call('crm.deal.list')));
      const limited = settled.filter((s) => s.status === 'rejected' && s.reason instanceof Bitrix24RateLimitError);
      assert.equal(limited.length, 10);
      assert.equal(emu.count({ outcome: 'QUERY_LIMIT_EXCEEDED' }), 10);
    } finally {
      await emu.close();
    }
  });

  it('recovers from QUERY_LIMIT_EXCEEDED of a tighter portal by backing off and retrying', async () => {
    const time = virtualTime();
    const emu = await startBitrix24Emulator({ clock: time.clock, threshold: 5, drainPerSecond: 2 });
    try {
      // Our limiter believes in a much bigger bucket, as when other apps share the portal's IP.
      const client = createBitrix24Client({ webhookUrl: emu.webhookUrl }, { clock: time.clock, sleep: time.sleep, rateLimit: { burst: 100, reserve: 0 } });
      const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => client.call<number>('crm.lead.add', { fields: { TITLE: `L${i}` } })));
      assert.equal(new Set(ids).size, 12);
      assert.equal(emu.store.rows.lead.size, 12, 'each lead added exactly once');
      assert.ok(emu.count({ outcome: 'QUERY_LIMIT_EXCEEDED' }) > 0, 'the portal did refuse some calls');
      assert.equal(emu.count({ method: 'crm.lead.add', outcome: 'ok' }), 12);
    } finally {
      await emu.close();
    }
  });

  it('gives up with Bitrix24RateLimitError after the configured retries', async () => {
    const time = virtualTime();
    const emu = await startBitrix24Emulator({ clock: time.clock });
    try {
      emu.faults.push({ httpStatus: 503, error: 'QUERY_LIMIT_EXCEEDED', description: 'Too many requests' });
      const client = createBitrix24Client({ webhookUrl: emu.webhookUrl }, { clock: time.clock, sleep: time.sleep, maxRateLimitRetries: 3 });
      await assert.rejects(client.call('crm.deal.list'), (e: Error) => e instanceof Bitrix24RateLimitError && (e as Bitrix24RateLimitError).retryable);
      assert.equal(emu.count({ outcome: 'fault' }), 4, '1 try + 3 retries');
    } finally {
      await emu.close();
    }
  });

  it('OPERATION_TIME_LIMIT blocks one method until operating_reset_at; other methods keep working', async () => {
    const time = virtualTime();
    const emu = await startBitrix24Emulator({ clock: time.clock, operatingLimitSeconds: 480 });
    try {
      emu.operatingCost.set('crm.deal.get', 200);
      const id = emu.add('deal', { TITLE: 'D' });
      const client = createBitrix24Client({ webhookUrl: emu.webhookUrl }, { clock: time.clock, sleep: time.sleep });
      let last;
      for (let i = 0; i < 3; i++) last = await client.callRaw('crm.deal.get', { id });
      assert.equal(last!.time?.operating, 600);
      const resetAt = last!.time!.operating_reset_at! * 1000;
      assert.ok(resetAt > time.clock.now());

      const blocked = await client.call('crm.deal.get', { id }).catch((e: unknown) => e);
      assert.ok(blocked instanceof Bitrix24OperationLimitError, String(blocked));
      assert.equal(blocked.httpStatus, 429);
      assert.equal(blocked.retryAt, resetAt);
      assert.equal(emu.count({ method: 'crm.deal.get', outcome: 'OPERATION_TIME_LIMIT' }), 1);

      // Known to be blocked: the client does not spend a request to hear it again.
      const before = emu.requests.length;
      await assert.rejects(client.call('crm.deal.get', { id }), Bitrix24OperationLimitError);
      assert.equal(emu.requests.length, before);
      assert.deepEqual((await client.call<unknown[]>('crm.deal.list', { select: ['ID'] })).length, 1);

      time.advance(resetAt - time.clock.now() + 1);
      assert.equal(((await client.call('crm.deal.get', { id })) as { TITLE: string }).TITLE, 'D');
    } finally {
      await emu.close();
    }
  });
});

describe('createLeakyBucket', () => {
  it('admits burst minus reserve at once; answered requests drain at the drain rate, pending ones do not', async () => {
    const time = virtualTime();
    const bucket = createLeakyBucket({ drainPerSecond: 4, burst: 10, reserve: 2 }, time);
    const releases = [];
    for (let i = 0; i < 8; i++) releases.push(await bucket.acquire());
    assert.equal(time.elapsed(), 0);
    let ninth = false;
    const next = bucket.acquire().then((release) => ((ninth = true), release));
    await time.sleep(5_000); // however long we wait, nothing was answered, so nothing drained
    assert.equal(ninth, false);
    const t = time.elapsed();
    for (const release of releases) release();
    releases.push(await next);
    assert.equal(time.elapsed() - t, 250, 'one unit drained at 4/s');
    for (const release of releases.splice(0)) release();
    bucket.markFull(); // the portal said its bucket is full: level 10, room again at level 7
    const t2 = time.elapsed();
    (await bucket.acquire())();
    assert.equal(time.elapsed() - t2, 750);
    assert.throws(() => createLeakyBucket({ burst: 5, reserve: 5 }), RangeError);
  });
});
