import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { basic, startTestHub, type TestHub } from '../support/hub.js';

const PASSWORD = 'lockout-password';

/** A clock the test moves by hand: the Authenticator's backoff reads ctx.clock. */
function fakeClock() {
  return {
    t: Date.UTC(2024, 0, 15, 9, 0, 0),
    now() {
      return this.t;
    },
    advance(ms: number) {
      this.t += ms;
    },
  };
}

for (const kind of TEST_DATABASES) {
  describe(`sign-in lock-out on ${kind}`, () => {
    let t: TestHub;
    const clock = fakeClock();
    let seq = 0;

    // A smaller address threshold than the default keeps the test fast (each failure costs a scrypt);
    // every number below is read from the config, so the test follows whatever is configured.
    before(async () => {
      t = await startTestHub(kind, { clock, config: { auth: { maxFailuresPerAddress: 8 } } });
    });
    after(async () => t.close());

    const auth = () => t.hub.ctx.config.auth;
    /** An employee nobody has signed in as yet, so no cached verification can answer for them. */
    async function freshEmployee(): Promise<string> {
      const username = `lock${++seq}`;
      assert.equal((await t.call('POST', '/employees', { body: { username, password: PASSWORD } })).statusCode, 201);
      return username;
    }
    const signIn = (username: string, password: string, address: string) =>
      t.built.app.inject({ method: 'GET', url: '/me', headers: { authorization: basic(username, password) }, remoteAddress: address });

    function assertLocked(res: Awaited<ReturnType<typeof signIn>>, lockMs: number): void {
      assert.equal(res.statusCode, 429, res.body);
      assert.equal(res.json().error, 'LOCKED_OUT');
      assert.match(res.json().description, /try again in \d+ s/);
      assert.equal(res.headers['retry-after'], String(Math.ceil(lockMs / 1000)));
    }

    it('locks a user out after repeated wrong passwords, even with the right one, and lifts it after the backoff', async () => {
      const { maxFailuresPerUser, lockoutBaseMs } = auth();
      const victim = await freshEmployee();
      for (let i = 1; i <= maxFailuresPerUser; i++) {
        const res = await signIn(victim, `guess-${i}`, '10.1.0.1');
        assert.equal(res.statusCode, 401, `failure ${i} is a plain 401`);
        assert.equal(res.json().error, 'BAD_CREDENTIALS');
      }
      assertLocked(await signIn(victim, PASSWORD, '10.1.0.1'), lockoutBaseMs);
      assertLocked(await signIn(victim, PASSWORD, '10.1.0.99'), lockoutBaseMs); // the user, from any address
      const bystander = await freshEmployee();
      assert.equal((await signIn(bystander, PASSWORD, '10.1.0.1')).statusCode, 200, 'other users from that address are not locked');

      clock.advance(lockoutBaseMs - 1);
      assertLocked(await signIn(victim, PASSWORD, '10.1.0.1'), 1);
      clock.advance(1);
      // One more failure right after the lock lifts doubles the next lock.
      assert.equal((await signIn(victim, 'one-more-guess', '10.1.0.1')).statusCode, 401);
      assertLocked(await signIn(victim, PASSWORD, '10.1.0.1'), 2 * lockoutBaseMs);
      clock.advance(2 * lockoutBaseMs);
      const ok = await signIn(victim, PASSWORD, '10.1.0.1');
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().username, victim);

      // A successful sign-in resets the count: the next wrong password is a plain 401 again.
      assert.equal((await signIn(victim, 'after-success', '10.1.0.1')).statusCode, 401);
    });

    it('locks an address out after failures spread over many usernames, and only that address', async () => {
      const { maxFailuresPerAddress, maxFailuresPerUser, lockoutBaseMs } = auth();
      assert.ok(maxFailuresPerAddress > maxFailuresPerUser, 'the address limit is the looser one');
      const first = await freshEmployee();
      const second = await freshEmployee();
      for (let i = 1; i <= maxFailuresPerAddress; i++) {
        const res = await signIn(`ghost-${i}`, 'spray', '10.2.0.1'); // one failure per username: no user is locked
        assert.equal(res.statusCode, 401, `failure ${i} is a plain 401`);
      }
      assertLocked(await signIn(first, PASSWORD, '10.2.0.1'), lockoutBaseMs);
      assertLocked(await signIn(second, PASSWORD, '10.2.0.1'), lockoutBaseMs);
      assert.equal((await signIn(first, PASSWORD, '10.2.0.2')).statusCode, 200, 'the same user from another address');

      clock.advance(lockoutBaseMs);
      assert.equal((await signIn(second, PASSWORD, '10.2.0.1')).statusCode, 200, 'the address lock lifted');
    });

    it(
      'a lock-out holds even for a user whose right password was verified moments before',
      async () => {
        const { maxFailuresPerUser } = auth();
        const victim = await freshEmployee();
        assert.equal((await signIn(victim, PASSWORD, '10.3.0.1')).statusCode, 200); // cached now
        for (let i = 1; i <= maxFailuresPerUser; i++) await signIn(victim, `guess-${i}`, '10.3.0.2');
        // While locked, guesses are refused without counting; a correct guess must not get through.
        assert.equal((await signIn(victim, PASSWORD, '10.3.0.2')).statusCode, 429);
      },
    );
  });
}
