import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { startTestHub, type TestHub } from '../support/hub.js';

// HTTP-level behaviour does not depend on the database; SQLite keeps it fast.
describe('bad input gets a precise status and a message a person can act on', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub('sqlite', { config: { http: { bodyLimitBytes: 4096 } } });
  });
  after(async () => t.close());

  const post = (rawBody: string | Buffer, contentType = 'application/json') =>
    t.call('POST', '/clients', { rawBody, headers: { 'content-type': contentType } });

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const res = await post('{"firstName": "Michael",');
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'MALFORMED_JSON');
    assert.match(res.json().description, /not valid JSON/);
    assert.doesNotMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
  });

  it('bytes that are not UTF-8 → 400 INVALID_ENCODING naming the fix', async () => {
    const res = await post(iconv.encode('{"firstName":"Иван"}', 'win1251'));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'INVALID_ENCODING');
    assert.match(res.json().description, /charset=windows-1251/);
  });

  it('a declared windows-1251 body is decoded correctly', async () => {
    const res = await post(iconv.encode('{"firstName":"Иван","lastName":"Петров"}', 'win1251'), 'application/json; charset=windows-1251');
    assert.equal(res.statusCode, 201);
    assert.equal(res.json().firstName, 'Иван');
  });

  it('unknown charset → 415; non-JSON content type → 415', async () => {
    assert.equal((await post('{}', 'application/json; charset=klingon')).statusCode, 415);
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      const res = await post('firstName=x', type);
      assert.equal(res.statusCode, 415, type);
      assert.equal(res.json().error, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('oversized body → 413 and nothing stored', async () => {
    const before = (await t.call('GET', '/clients')).headers['x-total-count'];
    const res = await post(JSON.stringify({ firstName: 'x'.repeat(10_000) }));
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error, 'PAYLOAD_TOO_LARGE');
    assert.equal((await t.call('GET', '/clients')).headers['x-total-count'], before);
  });

  it('prototype pollution keys are refused', async () => {
    const res = await post('{"firstName":"x","__proto__":{"admin":true}}');
    assert.equal(res.statusCode, 400);
  });

  it('an id that is not a safe integer → 400, not a lookup of a rounded number', async () => {
    for (const id of ['99999999999999999999', '9007199254740993', '1.5', '0']) {
      const res = await t.call('GET', `/clients/${id}`);
      assert.equal(res.statusCode, 400, id);
      assert.equal(res.json().error, 'MALFORMED_REQUEST');
      assert.equal(res.json().details[0].field, 'params.id');
    }
    assert.equal((await t.call('GET', '/clients/9007199254740991')).statusCode, 404, 'the largest safe id is a valid id that does not exist');
  });

  it('unknown endpoints are 404 for signed-in callers and 401 for anonymous ones', async () => {
    const res = await t.call('GET', '/no/such/thing');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error, 'ROUTE_NOT_FOUND');
    assert.equal((await t.call('GET', '/no/such/thing', { auth: null })).statusCode, 401);
  });
});
