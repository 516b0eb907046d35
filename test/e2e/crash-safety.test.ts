// Crash safety of the transactional outbox, with a real process and a real kill -9: every write the
// client saw succeed survives exactly once, and no client row exists without its client.created
// event row (nor the reverse), whichever moment the process died at.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { client, freePort, killHard, spawnConveyor, stop, tempDir, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';

const REQUESTS = 200;
const KILL_AFTER = 50; // successful responses seen before the kill

interface Outcome {
  externalId: string;
  status: number | 'failed';
  clientId?: number;
}

/** Runs one read-only query straight on the database file / server, bypassing the hub. */
async function query<T>(kind: 'sqlite' | 'postgres', where: string, text: string): Promise<T[]> {
  if (kind === 'sqlite') {
    const db = new SqliteDatabase(where, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(text).all() as T[];
    } finally {
      db.close();
    }
  }
  const c = new pg.Client({ connectionString: where });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

for (const kind of TEST_DATABASES) {
  describe(`crash safety on ${kind}: kill -9 during concurrent writes`, () => {
    const dir = tempDir();
    let scratch: ScratchDatabase | undefined;
    let env: Record<string, string> = {};
    let where = '';
    const procs: ConveyorProcess[] = [];

    async function startHub(): Promise<{ hub: ConveyorProcess; baseUrl: string }> {
      const port = await freePort();
      const hub = spawnConveyor(['start', '--no-demo', '--port', String(port)], { cwd: dir.path, env });
      procs.push(hub);
      const baseUrl = `http://127.0.0.1:${port}`;
      await waitReady(hub, baseUrl);
      return { hub, baseUrl };
    }

    before(async () => {
      if (kind === 'postgres') {
        scratch = await scratchDatabase('postgres');
        env = { DATABASE_URL: scratch.url };
        where = scratch.url;
      } else {
        // The embedded default: ./data/conveyor.db under the working directory.
        where = join(dir.path, 'data', 'conveyor.db');
      }
    });

    after(async () => {
      for (const p of procs) await stop(p);
      await scratch?.drop();
      dir.remove();
    });

    it(`${REQUESTS} concurrent POST /clients/add, kill -9 midway, restart: nothing lost, nothing doubled, no write without its event`, async (t) => {
      const t0 = Date.now();
      const first = await startHub();
      const api = client(first.baseUrl);
      // One signed-in request first, so the burst measures writes rather than password hashing.
      assert.equal((await api('GET', '/clients?limit=1')).status, 200);

      const run = Date.now().toString(36);
      let successes = 0;
      let killed: Promise<void> | undefined;
      const outcomes = await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i): Promise<Outcome> => {
          const externalId = `crash-${run}-${i}`;
          try {
            const res = await api('POST', '/clients/add', { firstName: 'Crash', lastName: `Test ${i}`, externalId });
            const body = (await res.json()) as { clientId?: number };
            if (res.ok && ++successes === KILL_AFTER) killed = killHard(first.hub);
            return { externalId, status: res.status, clientId: body.clientId };
          } catch {
            return { externalId, status: 'failed' }; // connection refused or reset by the kill
          }
        }),
      );
      assert.ok(killed, `the kill happened (only ${successes} successes)`);
      await killed;
      assert.equal(first.hub.child.signalCode, 'SIGKILL');

      const acknowledged = outcomes.filter((o) => typeof o.status === 'number' && o.status >= 200 && o.status < 300);
      const unexpected = outcomes.filter((o) => typeof o.status === 'number' && (o.status < 200 || o.status >= 300));
      assert.deepEqual(unexpected, [], 'no request was refused while the hub was up');
      assert.ok(acknowledged.length >= KILL_AFTER, `${acknowledged.length} acknowledged`);
      assert.ok(acknowledged.length < REQUESTS, 'the kill landed while requests were still in flight');

      t.diagnostic(`${acknowledged.length} of ${REQUESTS} acknowledged before the kill (${Date.now() - t0} ms in)`);
      const second = await startHub();

      const clients = await query<{ id: number | string; external_id: string }>(kind, where, 'SELECT id, external_id FROM clients');
      const events = await query<{ entity_id: string; payload: string }>(kind, where, "SELECT entity_id, payload FROM events WHERE topic = 'client.created'");
      const byExternalId = new Map<string, number[]>();
      for (const c of clients) byExternalId.set(c.external_id, [...(byExternalId.get(c.external_id) ?? []), Number(c.id)]);

      t.diagnostic(`${clients.length} clients after the restart (${Date.now() - t0} ms in)`);
      // Every acknowledged write exists exactly once, as the id the client was told.
      for (const o of acknowledged) {
        assert.deepEqual(byExternalId.get(o.externalId), [o.clientId], `client ${o.externalId}`);
      }
      // Nothing appeared that was never asked for.
      const asked = new Set(outcomes.map((o) => o.externalId));
      for (const c of clients) assert.ok(asked.has(c.external_id), `unexpected client ${c.external_id}`);

      // Outbox: one client.created event per client, none for a client that does not exist.
      const eventsByClient = new Map<string, string[]>();
      for (const e of events) eventsByClient.set(e.entity_id, [...(eventsByClient.get(e.entity_id) ?? []), e.payload]);
      for (const c of clients) {
        const payloads = eventsByClient.get(String(c.id)) ?? [];
        assert.equal(payloads.length, 1, `client ${c.id} has ${payloads.length} client.created events`);
        assert.equal((JSON.parse(payloads[0]) as { data: { externalId: string } }).data.externalId, c.external_id);
      }
      const ids = new Set(clients.map((c) => String(c.id)));
      for (const id of eventsByClient.keys()) assert.ok(ids.has(id), `client.created event for missing client ${id}`);

      // The restarted hub serves normally: reads, a new write with its event, and the unique external id still holds.
      const api2 = client(second.baseUrl);
      const list = await api2('GET', '/clients?limit=1');
      assert.equal(list.status, 200);
      assert.equal(Number(list.headers.get('x-total-count')), clients.length);
      await list.arrayBuffer();
      const added = await api2('POST', '/clients/add', { firstName: 'After', lastName: 'Restart', externalId: `after-${run}` });
      assert.equal(added.status, 200);
      const { clientId } = (await added.json()) as { clientId: number };
      const fetched = await api2('GET', `/clients/${clientId}`);
      assert.equal(fetched.status, 200);
      assert.equal(((await fetched.json()) as { externalId: string }).externalId, `after-${run}`);
      const again = await api2('POST', '/clients/add', { firstName: 'Again', lastName: 'Dup', externalId: acknowledged[0].externalId });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as { error: string }).error, 'CONFLICT');
      const eventsNow = await query<{ entity_id: string }>(kind, where, "SELECT entity_id FROM events WHERE topic = 'client.created'");
      assert.equal(eventsNow.filter((e) => e.entity_id === String(clientId)).length, 1, 'the new client has its event');
    });
  });
}
