// The Roistat sync under kill -9, with real processes: a hub configured with the document's keys in a
// .properties file registers the demo directory against the emulator, is killed mid-batch while edits
// arrive, restarts, and ends exactly in step: nothing lost, and no entity ever sent an older payload
// again after a newer one.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRoistatEmulator, type RoistatEmulator } from '../connectors/roistat/emulator.js';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { client, freePort, killHard, spawnConveyor, stop, tempDir, waitFor, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';

function properties(emu: RoistatEmulator): string {
  const registrars = [
    'ru.bgcrm.plugin.roistat.client.task.UpdatedClientRegistrar',
    'ru.bgcrm.plugin.roistat.order.task.UpdatedOrderRegistrar',
    'ru.bgcrm.plugin.roistat.client.task.ErrorClientRegistrar',
    'ru.bgcrm.plugin.roistat.order.task.ErrorOrderRegistrar',
    'ru.bgcrm.plugin.roistat.order.status.task.OrderStatusRegistrar',
  ];
  return [
    '# The keys of the Roistat plugin document, as an operator would write them',
    'plugin.roistat.enabled=true',
    `plugin.roistat.project=${emu.project}`,
    `plugin.roistat.apiKey=${emu.apiKey}`,
    `plugin.roistat.baseUrl=${emu.url}`,
    // Small batches and a low budget stretch registration out, so the kill lands mid-way.
    'plugin.roistat.batchSize=20',
    'plugin.roistat.rateLimit.perSecond=4',
    'plugin.roistat.order.process.types=1',
    'plugin.roistat.order.details.provider=standard',
    'plugin.roistat.status.1.id=1',
    'plugin.roistat.status.1.title=Новая',
    'plugin.roistat.status.2.id=2',
    'plugin.roistat.status.2.title=Оплачена',
    'plugin.roistat.status.2.type=paid',
    'plugin.roistat.status.3.id=3',
    'plugin.roistat.status.3.title=Отменена',
    'plugin.roistat.status.3.type=canceled',
    ...registrars.flatMap((c, i) => [`scheduler.task.${i + 1}.class=${c}`, `scheduler.task.${i + 1}.period=100`]),
    'demo.clients=200',
  ].join('\n');
}

/** Each entity's received payloads, consecutive repeats folded, must never return to an earlier one. */
function assertNoRegression(received: Map<string, string[]>, what: string): void {
  for (const [id, list] of received) {
    const folded = list.filter((p, i) => i === 0 || p !== list[i - 1]);
    assert.equal(new Set(folded).size, folded.length, `${what} ${id} was sent an older payload again: ${folded.join(' → ')}`);
  }
}

for (const kind of TEST_DATABASES) {
  describe(`Roistat sync crash safety on ${kind}: kill -9 mid-batch`, () => {
    const dir = tempDir();
    let scratch: ScratchDatabase | undefined;
    let emu: RoistatEmulator;
    const env: Record<string, string> = {};
    const procs: ConveyorProcess[] = [];

    async function startHub(): Promise<{ hub: ConveyorProcess; api: ReturnType<typeof client> }> {
      const port = await freePort();
      const hub = spawnConveyor(['start', '--port', String(port), '--config', 'conveyor.properties'], { cwd: dir.path, env });
      procs.push(hub);
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitReady(hub, baseUrl);
      return { hub, api: client(baseUrl) };
    }

    before(async () => {
      emu = await startRoistatEmulator();
      writeFileSync(join(dir.path, 'conveyor.properties'), properties(emu));
      if (kind === 'postgres') {
        scratch = await scratchDatabase('postgres');
        env.DATABASE_URL = scratch.url;
      }
    });

    after(async () => {
      for (const p of procs) await stop(p);
      await emu.close();
      await scratch?.drop();
      dir.remove();
    });

    it('registers the demo directory, is killed -9 while batches and edits are in flight, and ends exactly in step after a restart', async (t) => {
      const first = await startHub();
      const imports = () => emu.requests.filter((r) => r.path.endsWith('/clients/import') && r.outcome === 'success').length;
      await waitFor('a few client batches registered', () => imports() >= 3, 60_000, 20, first.hub);

      // Edits of used data while batches are in flight: each acknowledged one must reach Roistat.
      const edited = new Map<number, string>();
      await Promise.all(
        [5, 17, 42, 99, 150, 180].map(async (id) => {
          const lastName = `Edited-${id}`;
          const res = await first.api('PUT', `/clients/${id}`, { lastName });
          if (res.ok) edited.set(id, lastName);
          await res.arrayBuffer();
        }),
      );
      await killHard(first.hub);
      const importsAtKill = imports();
      t.diagnostic(`killed after ${importsAtKill} client batches; ${emu.clients.size} clients in Roistat`);
      assert.ok(emu.clients.size < 200, 'the kill landed before all clients were registered');

      const second = await startHub();
      const { api } = second;
      const overview = async () => (await (await api('GET', '/sync/roistat')).json()) as Record<string, any>;
      await waitFor(
        'everything registered after the restart',
        async () => {
          const o = await overview();
          return o.detection.eventsWaiting === 0 && o.clients.pending === 0 && o.orders.pending === 0 && o.clients.registered >= 200;
        },
        120_000,
        200,
        second.hub,
      );
      const o = await overview();
      assert.equal(o.clients.error, 0, JSON.stringify(o.lastErrors));
      assert.equal(o.orders.error, 0, JSON.stringify(o.lastErrors));

      // Exactly in step: every hub client is in Roistat with its current name; edits included.
      const hubClients = (await (await api('GET', '/clients?limit=1000')).json()) as Array<{ clientId: number; firstName: string | null; lastName: string | null }>;
      assert.equal(emu.clients.size, hubClients.length);
      for (const c of hubClients) {
        const remote = emu.clients.get(String(c.clientId));
        assert.ok(remote, `client ${c.clientId} is in Roistat`);
        assert.equal(remote.name, [c.lastName, c.firstName].filter(Boolean).join(' '), `client ${c.clientId} name`);
      }
      for (const [id, lastName] of edited) assert.match(String(emu.clients.get(String(id))?.name), new RegExp(`^${lastName} `));

      const deals = (await (await api('GET', '/deals?dealTypeId=1&limit=1000')).json()) as Array<{ dealId: number; dealStatusId: number; clientId: number }>;
      assert.ok(deals.length > 0);
      assert.equal(emu.orders.size, deals.length);
      for (const d of deals) {
        const remote = emu.orders.get(String(d.dealId));
        assert.ok(remote, `deal ${d.dealId} is in Roistat`);
        assert.equal(remote.record.status, String(d.dealStatusId));
        assert.equal(remote.record.client_id, String(d.clientId));
        assert.equal(remote.statusKnown, true);
      }
      assert.equal(emu.statuses.length, 3);
      assertNoRegression(emu.received.clients, 'client');
      assertNoRegression(emu.received.orders, 'deal');
      const resent = [...emu.received.clients.values()].filter((l) => l.length > 1).length;
      t.diagnostic(`${resent} clients were sent more than once (same payload re-sent after the kill, or an edit)`);
    });
  });
}
