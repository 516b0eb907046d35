import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../../src/platform/auth/passwords.js';

describe('password hashes', () => {
  it('store their cost, so any stored hash verifies whatever the current setting', async () => {
    const cheap = await hashPassword('correct horse', 10);
    assert.match(cheap, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse', cheap), true);
    assert.equal(await verifyPassword('wrong horse', cheap), false);
  });

  it('the stand-in for unknown users costs what real hashes cost', async () => {
    // Otherwise the time of a refused sign-in would tell whether the username exists.
    assert.match(await dummyPasswordHash(10), /^scrypt\$1024\$/);
    assert.match(await dummyPasswordHash(11), /^scrypt\$2048\$/);
  });
});
