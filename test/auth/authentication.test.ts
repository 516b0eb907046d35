import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const PASSWORD = 'sign-in-password';

function assertUnauthenticated(res: { statusCode: number; headers: Record<string, unknown>; json(): any }, code: string): void {
  assert.equal(res.statusCode, 401);
  assert.match(String(res.headers['www-authenticate']), /^Basic realm="Conveyor"/);
  const body = res.json();
  assert.equal(body.error, code);
  assert.equal(typeof body.description, 'string');
  assert.ok(body.description.length > 0);
}

for (const kind of TEST_DATABASES) {
  describe(`authentication on ${kind}`, () => {
    let t: TestHub;
    let seq = 0;
    async function addEmployee(fields: Record<string, unknown> = {}): Promise<{ id: number; auth: [string, string] }> {
      const username = `auth${++seq}`;
      const res = await t.call('POST', '/employees', { body: { username, password: PASSWORD, ...fields } });
      assert.equal(res.statusCode, 201, res.body);
      return { id: res.json().employeeId, auth: [username, PASSWORD] };
    }

    before(async () => {
      t = await startTestHub(kind);
    });
    after(async () => t.close());

    it('without an Authorization header: 401 with a Basic challenge and the error body', async () => {
      assertUnauthenticated(await t.call('GET', '/clients', { auth: null }), 'UNAUTHENTICATED');
      assertUnauthenticated(await t.call('GET', '/me', { auth: null }), 'UNAUTHENTICATED');
    });

    it('a malformed Authorization header is a 401, never a 500', async () => {
      const malformed = [
        'Bearer abc.def.ghi',
        'Basic',
        'Basic !!!not-base64!!!',
        `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
        'Digest username="Admin"',
      ];
      for (const authorization of malformed) {
        const res = await t.call('GET', '/clients', { auth: null, headers: { authorization } });
        assertUnauthenticated(res, 'UNAUTHENTICATED');
      }
    });

    it('a wrong password and an unknown user get the same 401, so usernames cannot be probed', async () => {
      const wrong = await t.call('GET', '/clients', { auth: ['Admin', 'not-the-password'] });
      const unknown = await t.call('GET', '/clients', { auth: ['nobody-by-this-name', 'not-the-password'] });
      assertUnauthenticated(wrong, 'BAD_CREDENTIALS');
      assertUnauthenticated(unknown, 'BAD_CREDENTIALS');
      assert.deepEqual(wrong.json(), unknown.json());
      assert.equal((await t.call('GET', '/clients')).statusCode, 200, 'the right password still works');
    });

    it('the username is case-sensitive and the password is not trimmed', async () => {
      assertUnauthenticated(await t.call('GET', '/me', { auth: ['admin', 'admin'] }), 'BAD_CREDENTIALS');
      assertUnauthenticated(await t.call('GET', '/me', { auth: ['Admin', 'admin '] }), 'BAD_CREDENTIALS');
    });

    it('a password with a colon works: only the first colon separates the username', async () => {
      const { auth } = await addEmployee({ password: 'pass:with:colons' });
      const res = await t.call('GET', '/me', { auth: [auth[0], 'pass:with:colons'] });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().username, auth[0]);
    });

    it('an inactive employee cannot sign in, and deactivation applies to the next request', async () => {
      const inactive = await addEmployee({ active: false });
      assertUnauthenticated(await t.call('GET', '/me', { auth: inactive.auth }), 'BAD_CREDENTIALS');

      const active = await addEmployee();
      assert.equal((await t.call('GET', '/me', { auth: active.auth })).statusCode, 200); // now cached
      assert.equal((await t.call('PUT', `/employees/${active.id}`, { body: { active: false } })).statusCode, 200);
      assertUnauthenticated(await t.call('GET', '/me', { auth: active.auth }), 'BAD_CREDENTIALS');
      assert.equal((await t.call('PUT', `/employees/${active.id}`, { body: { active: true } })).statusCode, 200);
      assert.equal((await t.call('GET', '/me', { auth: active.auth })).statusCode, 200);
    });

    it('a deleted employee is signed out at once', async () => {
      const e = await addEmployee();
      assert.equal((await t.call('GET', '/me', { auth: e.auth })).statusCode, 200);
      assert.equal((await t.call('DELETE', `/employees/${e.id}`)).statusCode, 204);
      assertUnauthenticated(await t.call('GET', '/me', { auth: e.auth }), 'BAD_CREDENTIALS');
    });

    it('a changed password takes effect immediately, through either endpoint', async () => {
      const e = await addEmployee();
      assert.equal((await t.call('GET', '/me', { auth: e.auth })).statusCode, 200); // the old password is cached now

      const own = await t.call('PUT', `/employees/${e.id}/password`, { auth: e.auth, body: { currentPassword: PASSWORD, newPassword: 'second-password' } });
      assert.equal(own.statusCode, 204);
      assertUnauthenticated(await t.call('GET', '/me', { auth: e.auth }), 'BAD_CREDENTIALS');
      assert.equal((await t.call('GET', '/me', { auth: [e.auth[0], 'second-password'] })).statusCode, 200);

      // An admin resetting it through the employee record invalidates as well.
      assert.equal((await t.call('PUT', `/employees/${e.id}`, { body: { password: 'third-password' } })).statusCode, 200);
      assertUnauthenticated(await t.call('GET', '/me', { auth: [e.auth[0], 'second-password'] }), 'BAD_CREDENTIALS');
      assert.equal((await t.call('GET', '/me', { auth: [e.auth[0], 'third-password'] })).statusCode, 200);
    });

    it('/healthz and /readyz answer without credentials, and ignore bad ones', async () => {
      for (const url of ['/healthz', '/readyz']) {
        const res = await t.call('GET', url, { auth: null });
        assert.equal(res.statusCode, 200, url);
        assert.ok(['ok', 'ready'].includes(res.json().status));
        assert.equal((await t.call('GET', url, { auth: ['Admin', 'wrong'] })).statusCode, 200, `${url} with wrong credentials`);
      }
      assertUnauthenticated(await t.call('GET', '/metrics', { auth: null }), 'UNAUTHENTICATED');
    });
  });
}
