// A cancel reaches another process (PostgreSQL, real processes): `conveyor start --no-jobs` serves the
// API and `conveyor worker` runs every step. The flow's middle step is an HTTP call to a server in this
// test process that never answers. Cancelling the run through the hub's API must close that request
// within a moment (not at the step timeout), the step after it must never be called, and no call is
// made twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/platform/db/index.js';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { client, freePort, spawnConveyor, stop, tempDir, waitFor, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';

const STEP_TIMEOUT_MS = 30_000;
/** How soon the held request must be closed after the cancel is answered. */
const PROMPTLY_MS = 3000;

interface Seen {
  path: string;
  key: string;
  at: number;
  closedAt?: number;
}

/** Answers /first and /last at once; holds /slow until the caller goes away. */
async function startTarget(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const entry: Seen = { path: req.url ?? '', key: String(req.headers['idempotency-key'] ?? ''), at: Date.now() };
    seen.push(entry);
    req.resume();
    if (entry.path === '/slow') {
      res.on('close', () => (entry.closedAt = Date.now()));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: entry.path }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

for (const kind of TEST_DATABASES.filter((k) => k === 'postgres')) {
  describe('a cancel through the API reaches the worker process running the run (postgres)', () => {
    const dir = tempDir();
    let scratch: ScratchDatabase;
    let database: Database | undefined;
    let target: Awaited<ReturnType<typeof startTarget>>;
    let hub: ConveyorProcess | undefined;
    let worker: ConveyorProcess | undefined;

    before(async () => {
      scratch = await scratchDatabase(kind);
      target = await startTarget();
      const flows = join(dir.path, 'flows');
      mkdirSync(flows);
      const call = (path: string) => `{ subsystem: http-request, options: { url: "${target.url}${path}", method: POST }`;
      writeFileSync(
        join(flows, 'slow-line.yaml'),
        ['id: slow-line', 'steps:', `  first: ${call('/first')}, next: [slow] }`, `  slow: ${call('/slow')}, next: [last] }`, `  last: ${call('/last')} }`, ''].join('\n'),
      );
      writeFileSync(
        join(dir.path, 'conveyor.yaml'),
        ['log: { level: info }', 'demo: { seed: false }', 'jobs: { concurrency: 4, pollIntervalMs: 50 }', 'flows:', `  dir: ${JSON.stringify(flows)}`, `  stepTimeoutMs: ${STEP_TIMEOUT_MS}`, ''].join('\n'),
      );
    });

    after(async () => {
      await stop(worker);
      await stop(hub);
      await database?.close();
      await scratch?.drop();
      await new Promise<void>((resolve) => {
        target?.server.closeAllConnections();
        target ? target.server.close(() => resolve()) : resolve();
      });
      dir.remove();
    });

    it('the held module call is closed at once, the next step never runs, nothing runs twice, the run ends cancelled', async (t) => {
      const env = { DATABASE_URL: scratch.url };
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      hub = spawnConveyor(['start', '--no-demo', '--no-jobs', '--port', String(port)], { cwd: dir.path, env });
      await waitReady(hub, baseUrl);
      worker = spawnConveyor(['worker'], { cwd: dir.path, env });
      const w = worker;
      await waitFor('the worker to start', () => w.output().includes('Conveyor worker running'), 60_000, 100, w);
      const api = client(baseUrl);

      const accepted = await api('POST', '/flows/slow-line/requests', { order: 1 });
      assert.equal(accepted.status, 202);
      const { runId } = (await accepted.json()) as { runId: string };
      const ofRun = () => target.seen.filter((s) => s.key.startsWith(`${runId}:`));
      await waitFor('the worker to call /slow', () => ofRun().some((s) => s.path === '/slow'), 30_000, 20, w);

      const cancel = await api('POST', `/runs/${runId}/cancel`);
      assert.equal(cancel.status, 200, await cancel.text());
      const cancelledAt = Date.now();
      const slow = ofRun().find((s) => s.path === '/slow')!;
      await waitFor('the held request to be closed', () => slow.closedAt !== undefined, PROMPTLY_MS, 20);
      assert.ok(slow.closedAt! - cancelledAt < PROMPTLY_MS, `closed ${slow.closedAt! - cancelledAt} ms after the cancel`);
      t.diagnostic(`the held request was closed ${slow.closedAt! - cancelledAt} ms after the cancel was answered`);

      // Whatever the worker does with the aborted step, it must be done with it: no step job left.
      database = openDatabase(scratch.url, { poolSize: 1 });
      const db = database.db;
      await waitFor('no step job left', async () => (await sql<{ n: number }>`select count(*)::int as n from jobs where task = 'flows.step'`.execute(db)).rows[0]!.n === 0, 10_000, 50);
      await new Promise((r) => setTimeout(r, 500)); // room for a wrong retry or a late next step to show

      assert.deepEqual(ofRun().map((s) => s.path), ['/first', '/slow'], 'first and slow once each, last never');
      assert.deepEqual([...new Set(ofRun().map((s) => s.key))].length, 2, 'each with its own idempotency key');
      const run = (await (await api('GET', `/runs/${runId}`)).json()) as { state: string; error: { code: string } };
      assert.equal(run.state, 'cancelled');
      assert.equal(run.error.code, 'CANCELLED');

      // The worker shuts down cleanly, its listening connection with it.
      await stop(worker);
      assert.deepEqual(await w.exited, { code: 0, signal: null });
      const listeners = async () =>
        (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'conveyor-listener'`.execute(db)).rows[0]!.n;
      await waitFor("only the hub's listening connection to be left", async () => (await listeners()) === 1, 5000, 50);
    });
  });
}
