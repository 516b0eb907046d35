import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { gate, waitFor } from '../jobs/support.js';

for (const kind of TEST_DATABASES) {
  describe(`operations: jobs (${kind})`, () => {
    let t: TestHub;
    let failing = true;
    const succeeded: unknown[] = [];
    const slow = gate();

    before(async () => {
      // Workers run, but poll only once a minute: a retried job that runs at once shows the retry woke them.
      t = await startTestHub(kind, { background: true, config: { jobs: { pollIntervalMs: 60_000 } } });
      t.hub.ctx.jobs.defineTask('ops.flaky', async (payload) => {
        if (failing) throw new Error('remote is down');
        succeeded.push(payload);
      });
      t.hub.ctx.jobs.defineTask('ops.slow', () => slow.promise);
    });
    after(async () => {
      slow.open();
      await t.close();
    });

    const enqueue = async (task: string, payload: unknown, options: { key?: string; delayMs?: number; maxAttempts?: number } = {}) => {
      const { id } = await t.hub.ctx.jobs.enqueue(t.hub.ctx.db, task, payload, options);
      assert.equal(typeof id, 'number');
      return id!;
    };
    const job = (id: number) => t.call('GET', `/jobs/${id}`);
    const stateOf = async (id: number) => {
      const res = await job(id);
      return res.statusCode === 404 ? 'gone' : res.json().state;
    };

    it('a job that failed until dead is listed, retried, and then runs at once and succeeds', async () => {
      const id = await enqueue('ops.flaky', { order: 7 }, { key: 'flaky:7', maxAttempts: 1 });
      await waitFor('the job to die', async () => (await stateOf(id)) === 'dead');

      const list = await t.call('GET', '/jobs?state=dead&task=ops.flaky');
      assert.equal(list.statusCode, 200, list.body);
      const body = list.json();
      const listed = body.jobs.find((j: { id: number }) => j.id === id);
      assert.ok(listed, 'the dead job is listed');
      assert.equal(listed.state, 'dead');
      assert.equal(listed.attempts, 1);
      assert.equal(listed.maxAttempts, 1);
      assert.equal(listed.key, 'flaky:7', 'a dead job shows its key (kept aside in dead_key)');
      assert.match(listed.lastError, /remote is down/);
      assert.deepEqual(listed.payload, { order: 7 });
      assert.equal(listed.payloadTruncated, false);
      assert.equal(body.counts.dead, 1);
      assert.equal(body.nextBefore, null);

      failing = false;
      const retried = await t.call('POST', `/jobs/${id}/retry`);
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().state, 'queued');
      assert.equal(retried.json().attempts, 0);
      assert.equal(retried.json().key, 'flaky:7');
      assert.match(retried.json().lastError, /remote is down/, 'the last error is kept until the next attempt');

      // Well inside the 60 s poll interval: the retry woke the workers.
      await waitFor('the retried job to succeed', () => succeeded.length === 1, 5000);
      assert.deepEqual(succeeded, [{ order: 7 }]);
      await waitFor('the finished job to be deleted', async () => (await stateOf(id)) === 'gone');
      const again = await t.call('POST', `/jobs/${id}/retry`);
      assert.equal(again.statusCode, 404);
      assert.match(again.json().description, new RegExp(`Job ${id} does not exist`));
    });

    it('retry is refused while a live job holds the key, and for a job that is not dead', async () => {
      // A task no process defines is parked as dead at once.
      const dead = await enqueue('ops.undefined-task', { n: 1 }, { key: 'shared-key' });
      await waitFor('the job to die', async () => (await stateOf(dead)) === 'dead');
      const holder = await enqueue('ops.flaky', { n: 2 }, { key: 'shared-key', delayMs: 3_600_000 });

      const refused = await t.call('POST', `/jobs/${dead}/retry`);
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().error, 'CONFLICT');
      assert.match(refused.json().description, new RegExp(`key "shared-key" is held by live job ${holder}`));
      assert.equal(await stateOf(dead), 'dead', 'nothing changed');

      const notDead = await t.call('POST', `/jobs/${holder}/retry`);
      assert.equal(notDead.statusCode, 409);
      assert.match(notDead.json().description, new RegExp(`Job ${holder} is queued, not dead`));

      assert.equal((await t.call('DELETE', `/jobs/${holder}`)).statusCode, 204);
      const retried = await t.call('POST', `/jobs/${dead}/retry`);
      assert.equal(retried.statusCode, 200, retried.body);
      assert.equal(retried.json().key, 'shared-key', 'the key is live again');
    });

    it('delete removes dead and queued jobs, refuses a running one and a queued flow step, and says when a job does not exist', async () => {
      const queued = await enqueue('ops.flaky', { n: 3 }, { delayMs: 3_600_000 });
      const dead = await enqueue('ops.another-undefined-task', {});
      await waitFor('the job to die', async () => (await stateOf(dead)) === 'dead');
      const running = await enqueue('ops.slow', {});
      await waitFor('the slow job to run', async () => (await stateOf(running)) === 'running');

      for (const id of [queued, dead]) {
        const res = await t.call('DELETE', `/jobs/${id}`);
        assert.equal(res.statusCode, 204, res.body);
        assert.equal(res.body, '');
        assert.equal((await job(id)).statusCode, 404);
      }

      const busy = await t.call('DELETE', `/jobs/${running}`);
      assert.equal(busy.statusCode, 409, busy.body);
      assert.match(busy.json().description, new RegExp(`Job ${running} is running \\(worker .+\\) and cannot be deleted`));
      const retryRunning = await t.call('POST', `/jobs/${running}/retry`);
      assert.equal(retryRunning.statusCode, 409);
      assert.match(retryRunning.json().description, /is running, not dead/);
      assert.equal(await stateOf(running), 'running', 'still there and still running');
      slow.open();
      await waitFor('the slow job to finish', async () => (await stateOf(running)) === 'gone');

      // A queued step of a flow run: deleting it would leave the run waiting for ever.
      const step = await enqueue('flows.step', { runId: 'r-ops', stepId: 's1', seq: 1 }, { delayMs: 3_600_000 });
      const kept = await t.call('DELETE', `/jobs/${step}`);
      assert.equal(kept.statusCode, 409, kept.body);
      assert.match(kept.json().description, /is queued and cannot be deleted: its flow run would wait for this step for ever; cancel the run instead/);
      assert.equal(await stateOf(step), 'queued');

      const missing = await t.call('DELETE', '/jobs/987654');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error, 'NOT_FOUND');
      assert.equal((await job(987654)).statusCode, 404);
    });

    it('lists newest first with keyset paging and counts; cuts big payloads in lists only', async () => {
      const big = { text: 'я'.repeat(5000) };
      const ids = [await enqueue('ops.page', { n: 1 }, { delayMs: 3_600_000 }), await enqueue('ops.page', big, { delayMs: 3_600_000 }), await enqueue('ops.page', { n: 3 }, { delayMs: 3_600_000 })];

      const first = (await t.call('GET', '/jobs?task=ops.page&limit=2')).json();
      assert.deepEqual(first.jobs.map((j: { id: number }) => j.id), [ids[2], ids[1]]);
      assert.equal(first.nextBefore, ids[1]);
      assert.deepEqual(first.counts, { queued: 3, running: 0, dead: 0 });
      const cut = first.jobs[1];
      assert.equal(cut.payloadTruncated, true);
      assert.equal(typeof cut.payload, 'string');
      assert.equal(cut.payload.length, 2000);
      assert.equal(cut.payloadChars, JSON.stringify(big).length);

      const second = (await t.call('GET', `/jobs?task=ops.page&limit=2&before=${first.nextBefore}`)).json();
      assert.deepEqual(second.jobs.map((j: { id: number }) => j.id), [ids[0]]);
      assert.equal(second.nextBefore, null);

      const whole = (await job(ids[1])).json();
      assert.deepEqual(whole.payload, big);
      assert.equal(whole.payloadTruncated, false);
      assert.equal((await t.call('GET', '/jobs?task=ops.page&state=dead')).json().jobs.length, 0);

      assert.equal((await t.call('GET', '/jobs?limit=501')).statusCode, 400);
      assert.equal((await t.call('GET', '/jobs?state=finished')).statusCode, 400);
      assert.equal((await t.call('GET', '/jobs/abc')).statusCode, 400);
    });

    it('the operations routes are in the OpenAPI document with their schemas', async () => {
      const doc = (await t.call('GET', '/openapi.json')).json();
      assert.deepEqual(Object.keys(doc.paths['/jobs/{id}']).sort(), ['delete', 'get']);
      assert.ok(doc.paths['/jobs'].get.parameters.some((p: { name: string }) => p.name === 'before'));
      assert.ok(doc.paths['/jobs/{id}/retry'].post);
      assert.ok(doc.paths['/event-subscribers'].get.responses['200']);
      assert.ok(doc.paths['/event-subscribers/{name}/skip'].post.requestBody);
      assert.ok(doc.paths['/event-subscribers/{name}/retry'].post);
      assert.ok(doc.paths['/event-subscribers/{name}'].delete.parameters.some((p: { name: string }) => p.name === 'force'));
      const subscriber = doc.paths['/event-subscribers'].get.responses['200'].content['application/json'].schema.items;
      for (const field of ['lastSeenAt', 'lastSeenBy', 'inUse']) assert.ok(subscriber.required.includes(field), field);
    });
  });
}
