// The demo flows: with the demo on and no flows folder, the hub loads examples/flows/demo, so that a
// fresh `npm start` has a flow to try; they run end to end with built-in modules only.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHub } from '../../src/hub.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { scratchDatabase, TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const MISSING_DIR = join(tmpdir(), 'conveyor-no-such-flows-folder');

async function run(t: TestHub, body: unknown): Promise<Record<string, any>> {
  const res = await t.call('POST', '/flows/lead-triage/requests?wait=20000', { body });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

for (const kind of TEST_DATABASES) {
  describe(`demo flows: lead-triage end to end (${kind})`, () => {
    let t: TestHub;
    before(async () => {
      t = await startTestHub(kind, { demo: true, background: true, config: { flows: { dir: MISSING_DIR } } });
    });
    after(async () => t.close());

    it('is the one flow loaded when flows.dir does not exist', async () => {
      const res = await t.call('GET', '/flows');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(
        res.json().map((f: { id: string }) => f.id),
        ['lead-triage'],
      );
    });

    it('a large order is a key account: cleaned fields, two branches, one of them after a durable wait', async () => {
      const out = await run(t, { name: ' Anna ', phone: '8 (999) 123-45-67', email: 'Anna@Example.COM', total: 150000 });
      assert.equal(out.state, 'succeeded');
      assert.deepEqual(out.context.clean, { name: 'Anna', phone: '+79991234567', email: 'anna@example.com', total: 150000, channel: 'site' });
      assert.deepEqual(out.context['key-account'], { queue: 'key-accounts', priority: 'high', name: 'Anna', phone: '+79991234567', email: 'anna@example.com' });
      assert.deepEqual(out.context['call-back'], { task: 'call back', phone: '+79991234567' });
      assert.equal(out.context['regular-lead'], undefined);

      const history = (await t.call('GET', `/runs/${out.runId}`)).json();
      const steps = history.steps.map((s: { stepId: string }) => s.stepId);
      assert.deepEqual(new Set(steps), new Set(['clean', 'key-account', 'call-back-later', 'call-back']));
      assert.ok(steps.indexOf('call-back') > steps.indexOf('call-back-later'), 'the call-back comes after its wait');
      const wait = history.steps.find((s: { stepId: string; state: string }) => s.stepId === 'call-back-later' && s.state === 'succeeded');
      assert.deepEqual(wait.output, { delayedMs: 1000 });
    });

    it('a wholesale lead is a key account too; a lead with a phone only is a regular one; no contacts at all asks for them', async () => {
      assert.equal((await run(t, { phone: '+7 912 000 11 22', channel: ' Wholesale ' })).context['key-account'].queue, 'key-accounts');
      const regular = await run(t, { phone: '+7 912 000 11 22' });
      assert.deepEqual(regular.context['regular-lead'], { queue: 'sales', priority: 'normal', name: null, phone: '+79120001122', email: null });
      const nobody = await run(t, { name: 'Bob' });
      assert.equal(nobody.context['ask-for-contacts'].queue, 'none');
      assert.equal(nobody.context['regular-lead'], undefined);
    });
  });
}

describe('demo flows: when they load', () => {
  const kind = TEST_DATABASES[0]!;
  const flowIds = async (options: Parameters<typeof startTestHub>[1]) => {
    const t = await startTestHub(kind, options);
    try {
      return (await t.call('GET', '/flows')).json().map((f: { id: string }) => f.id);
    } finally {
      await t.close();
    }
  };

  it('not with the demo off (--no-demo, demo.seed: false)', async () => {
    assert.deepEqual(await flowIds({ demo: false, config: { flows: { dir: MISSING_DIR } } }), []);
  });

  it('not with demo.flows: false', async () => {
    assert.deepEqual(await flowIds({ demo: true, config: { flows: { dir: MISSING_DIR }, demo: { flows: false } } }), []);
  });

  it('in a worker too (a hub that never seeds), by the config as `start` decides: both run the same flows', async () => {
    const db = await scratchDatabase(kind);
    const config = loadConfig({ env: {}, overrides: { database: { url: db.url }, log: { level: 'silent' }, auth: { passwordHashCost: 10 }, demo: { seed: true }, flows: { dir: MISSING_DIR } } });
    const worker = await createHub(config, { demo: false }); // as `conveyor worker` makes it
    try {
      assert.deepEqual(worker.flows.registry.list().map((e) => e.flow.id), ['lead-triage']);
      assert.equal(await worker.ctx.db.selectFrom('clients').select('id').executeTakeFirst(), undefined, 'and it seeded nothing');
    } finally {
      await worker.close();
      await db.drop();
    }
  });

  it('not when the flows folder exists, even empty: its flows are the hub’s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-empty-flows-'));
    try {
      assert.deepEqual(await flowIds({ demo: true, config: { flows: { dir } } }), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
