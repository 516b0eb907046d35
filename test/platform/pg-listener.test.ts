// The dedicated LISTEN connection (src/platform/db/pg-listener.ts): it hears NOTIFYs sent by other
// connections, comes back with backoff when its connection is killed or the server cannot be reached,
// says when it listens again (so callers can look for what they missed), and leaves nothing behind on close.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type Database, type PgListener } from '../../src/platform/db/index.js';
import { listenPg } from '../../src/platform/db/pg-listener.js';
import { TEST_DATABASES, scratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { freePort } from '../e2e/fixtures/hub-process.js';

const CHANNEL = 'conveyor_test_channel';

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of TEST_DATABASES.filter((k) => k === 'postgres')) {
  describe('PostgreSQL LISTEN connection', () => {
    let scratch: ScratchDatabase;
    let database: Database;
    let dbName: string;
    const open: PgListener[] = [];

    before(async () => {
      scratch = await scratchDatabase(kind);
      database = openDatabase(scratch.url, { poolSize: 2 });
      dbName = new URL(scratch.url).pathname.slice(1);
    });
    after(async () => {
      for (const l of open) await l.close();
      await database.close();
      await scratch.drop();
    });

    const notify = (payload: string) => sql`select pg_notify(${CHANNEL}, ${payload})`.execute(database.db);
    /** The backends of listening connections on the test database. */
    const listeners = async () => {
      const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = ${dbName} and application_name = 'conveyor-listener'`.execute(database.db);
      return rows.map((r) => r.pid);
    };

    it('hears NOTIFYs from other connections, and is listening when ready settles', async () => {
      const heard: string[] = [];
      const listening: boolean[] = [];
      const l = database.listen!({ channel: CHANNEL, onNotify: (p) => heard.push(p), onListening: (again) => listening.push(again) });
      open.push(l);
      await l.ready;
      assert.deepEqual(listening, [false]);
      await notify('run-1');
      await eventually('the notification', () => heard.includes('run-1'));
      await l.close();
    });

    it('a killed connection is made again after the first backoff step, says so, and hears what comes after', async () => {
      const heard: string[] = [];
      const listening: boolean[] = [];
      const errors: number[] = [];
      const l = database.listen!({
        channel: CHANNEL,
        onNotify: (p) => heard.push(p),
        onListening: (again) => listening.push(again),
        onError: (_err, retryInMs) => errors.push(retryInMs),
        backoff: { firstMs: 50, maxMs: 400 },
      });
      open.push(l);
      await l.ready;
      const [pid, ...others] = await listeners();
      assert.ok(pid !== undefined && others.length === 0, 'one listening backend');
      await sql`select pg_terminate_backend(${pid})`.execute(database.db);
      await eventually('listening again', () => listening.length === 2);
      assert.deepEqual(listening, [false, true]);
      assert.deepEqual(errors, [50], 'one failure, retried after the first backoff step');
      const [again] = await listeners();
      assert.ok(again !== undefined && again !== pid, 'a new backend listens');
      await notify('after-reconnect');
      await eventually('the notification after the reconnect', () => heard.includes('after-reconnect'));
      await l.close();
      await eventually('no listening backend left', async () => (await listeners()).length === 0);
    });

    it('an unreachable server is retried with doubling waits up to the cap; close() stops the retries', async () => {
      const port = await freePort(); // nobody listens there
      let attempts = 0;
      const errors: number[] = [];
      const l = listenPg(
        () => {
          attempts++;
          return new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
        },
        { channel: CHANNEL, onNotify: () => undefined, onError: (_err, retryInMs) => errors.push(retryInMs), backoff: { firstMs: 10, maxMs: 40 } },
      );
      await l.ready;
      await eventually('five failed attempts', () => errors.length >= 5);
      assert.deepEqual(errors.slice(0, 5), [10, 20, 40, 40, 40]);
      await l.close();
      const after = attempts;
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(attempts, after, 'no attempt after close()');
    });

    it('close() ends the connection: no backend is left listening', async () => {
      const l = database.listen!({ channel: CHANNEL, onNotify: () => undefined });
      await l.ready;
      assert.equal((await listeners()).length, 1);
      await l.close();
      await eventually('the backend to leave', async () => (await listeners()).length === 0);
    });

    it('close() while still connecting: ready settles, nothing is left listening, nothing is heard', async () => {
      const heard: string[] = [];
      const l = database.listen!({ channel: CHANNEL, onNotify: (p) => heard.push(p) });
      await l.close();
      await l.ready;
      await notify('after-close');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(heard, []);
      await eventually('no listening backend', async () => (await listeners()).length === 0);
    });
  });
}
