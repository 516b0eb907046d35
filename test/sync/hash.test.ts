import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, payloadHash } from '../../src/sync/engine/index.js';

describe('canonical JSON and payload hash (change detection)', () => {
  it('is independent of key order at every level and parses back to the same data', () => {
    const a = { name: 'Anna', fields: { b: '2', a: '1' }, list: [{ y: 1, x: [2, { q: null, p: 'é"\n' }] }], n: 1.5 };
    const b = { list: [{ x: [2, { p: 'é"\n', q: null }], y: 1 }], n: 1.5, fields: { a: '1', b: '2' }, name: 'Anna' };
    assert.equal(canonicalJson(a), canonicalJson(b));
    assert.equal(canonicalJson(a), '{"fields":{"a":"1","b":"2"},"list":[{"x":[2,{"p":"é\\"\\n","q":null}],"y":1}],"n":1.5,"name":"Anna"}');
    assert.deepEqual(JSON.parse(canonicalJson(a)), a);
    assert.equal(payloadHash(canonicalJson(a)), payloadHash(canonicalJson(b)));
  });

  it('drops undefined members like JSON.stringify, keeps null, and tells different data apart', () => {
    assert.equal(canonicalJson({ a: undefined, b: null, c: [undefined] }), '{"b":null,"c":[null]}');
    assert.equal(canonicalJson(new Date(0)), JSON.stringify(new Date(0)));
    assert.notEqual(payloadHash(canonicalJson({ a: '1' })), payloadHash(canonicalJson({ a: 1 })));
    assert.match(payloadHash('x'), /^[0-9a-f]{32}$/);
  });
});
