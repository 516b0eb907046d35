import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { createHub, type Hub } from '../../src/hub.js';
import { verifyPassword } from '../../src/platform/auth/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import type { BuiltApp } from '../../src/platform/http/index.js';
import { createLogger } from '../../src/platform/logging/index.js';
import { scratchDatabase, TEST_DATABASES, type ScratchDatabase } from '../support/databases.js';
import { basic } from '../support/hub.js';

const SECRETS = { first: 'first-secret-pass', second: 'second-secret-pass', third: 'third-secret-pass', guess: 'wrong-guess-secret' };
const SCRYPT_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;

for (const kind of TEST_DATABASES) {
  describe(`password secrecy on ${kind}`, () => {
    let db: ScratchDatabase;
    let hub: Hub;
    let built: BuiltApp;
    const logLines: string[] = [];
    const responses: LightMyRequestResponse[] = [];

    // A hub of our own, logging everything (trace) into memory, so the log can be searched.
    before(async () => {
      db = await scratchDatabase(kind);
      const config = loadConfig({ env: {}, overrides: { database: { url: db.url, poolSize: 5 }, log: { level: 'trace' }, jobs: { enabled: false } } });
      hub = await createHub(config, { log: createLogger('trace', { write: (line: string) => void logLines.push(line) }), demo: false });
      built = await hub.buildApp();
    });
    after(async () => {
      await built.app.close();
      await hub.close();
      await db.drop();
    });

    async function call(method: string, url: string, body?: unknown, auth: [string, string] = ['Admin', 'admin']): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { authorization: basic(...auth) };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await built.app.inject({ method: method as 'GET', url, headers, payload: body === undefined ? undefined : JSON.stringify(body) });
      responses.push(res);
      return res;
    }
    const storedHash = async (username: string) =>
      String((await hub.ctx.db.selectFrom('employees').select('password_hash').where('username', '=', username).executeTakeFirstOrThrow()).password_hash);

    it('stores a salted scrypt hash, never the password', async () => {
      const a = await call('POST', '/employees', { username: 'keeper', password: SECRETS.first });
      const b = await call('POST', '/employees', { username: 'twin', password: SECRETS.first });
      assert.equal(a.statusCode, 201);
      assert.equal(b.statusCode, 201);
      const hash = await storedHash('keeper');
      assert.match(hash, SCRYPT_HASH);
      assert.ok(!hash.includes(SECRETS.first));
      assert.notEqual(hash, await storedHash('twin'), 'the same password hashes differently (salt)');
      assert.equal(await verifyPassword(SECRETS.first, hash), true);
      assert.equal(await verifyPassword(SECRETS.second, hash), false);
      assert.match(await storedHash('Admin'), SCRYPT_HASH);
    });

    it('no response, event or log line carries a password or its hash', async () => {
      const id = (await call('GET', '/employees/name/keeper')).json().employeeId as number;
      const hashes = [await storedHash('Admin'), await storedHash('twin'), await storedHash('keeper')];
      assert.equal((await call('GET', '/me', undefined, ['keeper', SECRETS.guess])).statusCode, 401);
      assert.equal((await call('GET', '/me', undefined, ['keeper', SECRETS.first])).statusCode, 200);
      assert.equal((await call('PUT', `/employees/${id}/password`, { currentPassword: SECRETS.first, newPassword: SECRETS.second }, ['keeper', SECRETS.first])).statusCode, 204);
      hashes.push(await storedHash('keeper'));
      assert.equal((await call('PUT', `/employees/${id}`, { password: SECRETS.third, position: 'Кассир' })).statusCode, 200);
      hashes.push(await storedHash('keeper'));
      assert.equal((await call('PUT', `/employees/${id}/password`, { currentPassword: SECRETS.guess, newPassword: SECRETS.first }, ['keeper', SECRETS.third])).statusCode, 422);
      assert.equal((await call('POST', '/employees', { username: 'short', password: 'short' })).statusCode, 422);
      const role = (await call('GET', `/roles/name/${encodeURIComponent('Оператор')}`)).json().roleId as number;
      assert.equal((await call('PUT', `/employees/${id}/roles/${role}`)).statusCode, 200);
      for (const url of ['/employees', '/employees/search?q=keep', `/employees/${id}`, '/employees/name/keeper', `/roles/${role}/employees`, '/me']) {
        assert.equal((await call('GET', url)).statusCode, 200, url);
      }
      assert.equal((await call('GET', '/me', undefined, ['keeper', SECRETS.third])).statusCode, 200);

      const forbidden = [...Object.values(SECRETS), ...hashes, basic('keeper', SECRETS.first).slice(6), basic('Admin', 'admin').slice(6)];
      for (const res of responses) {
        for (const secret of forbidden) assert.ok(!res.body.includes(secret), `a response to ${res.raw.req.method} ${res.raw.req.url} contains a secret`);
        assert.doesNotMatch(res.body, /"password(Hash|_hash)?"\s*:/, `${res.raw.req.method} ${res.raw.req.url} returns a password field`);
      }
      const events = await hub.ctx.db.selectFrom('events').select(['topic', 'payload']).where('entity_type', '=', 'employee').execute();
      assert.ok(events.some((e) => e.topic === 'employee.password_changed'));
      for (const e of events) for (const secret of forbidden) assert.ok(!String(e.payload).includes(secret), `event ${e.topic} contains a secret`);

      const log = logLines.join('');
      assert.match(log, /"url":"\/employees\/\d+\/password"/, 'requests were logged (the search below is not vacuous)');
      for (const secret of forbidden) assert.ok(!log.includes(secret), 'the log contains a secret');
    });
  });
}
