// The 001 example end to end with its three Bitrix24 reads as REMOTE modules, served over a real broker —
// NATS JetStream or RabbitMQ — by the serve helpers, on both databases: the dispatcher reaches them by
// the transport named in flows.modules, the supervisor routes on their answers, and every step is recorded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import amqp from 'amqplib';
import { DEFAULT_NATS_STREAM, DEFAULT_RABBIT_QUEUE_PREFIX, natsConsumerName, serveNatsModule, serveRabbitModule, type ServedModule } from '../../../src/flows/transports/index.js';
import { TEST_DATABASES } from '../../support/databases.js';
import { NATS_SERVERS, RABBIT_URL, unique } from '../transports/support.js';
import { eventually, fakeCrm, getRun, runToEnd, startFlowHub, type FlowHub } from './support.js';

const DEAL_ROUTING = readFileSync(new URL('../../../examples/flows/001-deal-routing.yaml', import.meta.url), 'utf8');
const FLOW = '001-deal-routing';
const READS = ['find-contact', 'find-deal', 'get-deal'] as const;

for (const kind of TEST_DATABASES) {
  for (const transport of ['nats', 'rabbitmq'] as const) {
    describe(`flows: the 001 example with its reads served over ${transport} (${kind})`, () => {
      let f: FlowHub;
      const crm = fakeCrm();
      // Remote names of this test alone (no dots: a dotted key under flows.modules reads as a path).
      const prefix = unique('qd');
      const remote = (read: string) => `${prefix}-${read}`;
      const served: ServedModule[] = [];

      before(async () => {
        crm.contacts.set('+79990000001', { ID: '11', PHONE: '+79990000001' });
        crm.contacts.set('+79990000002', { ID: '12', PHONE: '+79990000002' });
        crm.deals.set('501', { ID: '501', CONTACT_ID: '11', TITLE: 'Sofa', STAGE_ID: 'NEW' });
        for (const read of READS) {
          const module = crm.modules.find((m) => m.name === `bitrix24.${read}`)!;
          const handler = (input: unknown, call: Parameters<typeof module.run>[1]) => module.run(input, call, new AbortController().signal);
          served.push(transport === 'nats' ? await serveNatsModule({ servers: NATS_SERVERS, module: remote(read), handler }) : await serveRabbitModule({ url: RABBIT_URL, module: remote(read), handler }));
        }
        const flow = DEAL_ROUTING.replace(/subsystem: bitrix24\.([a-z-]+)/g, (_, read: string) => `subsystem: ${remote(read)}`);
        const place = transport === 'nats' ? { servers: NATS_SERVERS } : { url: RABBIT_URL };
        // Reads, so declared safe: a waiting request calls them before its run is first written.
        const modules = Object.fromEntries(READS.map((read) => [remote(read), { transport, ...place, safe: true, timeoutMs: 10_000 }]));
        f = await startFlowHub(kind, { files: { '001-deal-routing.yaml': flow }, flows: { modules } });
      });

      after(async () => {
        await f?.close();
        for (const s of served) await s.close();
        if (transport === 'nats') {
          const nc = await connect({ servers: NATS_SERVERS });
          const jsm = await jetstreamManager(nc);
          for (const read of READS) await jsm.consumers.delete(DEFAULT_NATS_STREAM, natsConsumerName(remote(read))).catch(() => undefined);
          await nc.close();
        } else {
          const conn = await amqp.connect(RABBIT_URL);
          const channel = await conn.createChannel();
          for (const read of READS) await channel.deleteQueue(`${DEFAULT_RABBIT_QUEUE_PREFIX}.${remote(read)}`);
          await conn.close();
        }
      });

      it('every route of the example, waiting for the outcome: the remote answers decide the branch, each step recorded with its module', async () => {
        const deal = await runToEnd(f, FLOW, { phone: '+79990000001', email: 'a@example.com' });
        assert.equal(deal.state, 'succeeded', JSON.stringify(deal));
        assert.deepEqual(deal.context['get-bitrix-deal'], { value: { ID: '501' } });
        assert.equal(deal.context['get-bitrix-deal-by-id'].TITLE, 'Sofa');
        const run = await getRun(f, deal.runId);
        assert.deepEqual(
          run.steps.map((s: any) => [s.stepId, s.module, s.state]),
          [
            ['bitrix-find-contact', remote('find-contact'), 'succeeded'],
            ['get-bitrix-deal', remote('find-deal'), 'succeeded'],
            ['get-bitrix-deal-by-id', remote('get-deal'), 'succeeded'],
            ['remember-deal', 'set', 'succeeded'],
          ],
        );

        const lead = await runToEnd(f, FLOW, { phone: '+70000000000' });
        assert.deepEqual(lead.context['bitrix-lead-set-default-values'], { SOURCE_ID: 'WEB', TITLE: 'Request from the site' });
        const known = await runToEnd(f, FLOW, { phone: '+79990000002' });
        assert.deepEqual((await getRun(f, known.runId)).steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'remember-deal']);

        // The modules saw one idempotency key per step, as local modules do.
        const keys = crm.calls.filter((c) => c.key.startsWith(`${deal.runId}:`)).map((c) => c.key);
        assert.deepEqual(keys, [`${deal.runId}:bitrix-find-contact:1`, `${deal.runId}:get-bitrix-deal:2`, `${deal.runId}:get-bitrix-deal-by-id:3`]);
      });

      it('without waiting (202): the steps run as durable jobs through the broker to the same end', async () => {
        const accepted = await f.call('POST', `/flows/${FLOW}/requests`, { body: { phone: '+79990000001' } });
        assert.equal(accepted.statusCode, 202, accepted.body);
        const { runId } = accepted.json();
        await eventually('the run ended', async () => (await getRun(f, runId)).state === 'succeeded');
        const run = await getRun(f, runId);
        assert.deepEqual(run.steps.map((s: any) => s.stepId), ['bitrix-find-contact', 'get-bitrix-deal', 'get-bitrix-deal-by-id', 'remember-deal']);
        assert.ok(run.steps.every((s: any) => s.attempt === 1), 'no step needed a retry');
      });
    });
  }
}
