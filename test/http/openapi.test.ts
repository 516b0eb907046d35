import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { startTestHub, type TestHub } from '../support/hub.js';

describe('OpenAPI document', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub('sqlite');
  });
  after(async () => t.close());

  it('is a valid OpenAPI 3 document describing the 003 endpoints with Basic Auth', async () => {
    const res = await t.call('GET', '/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    await SwaggerParser.validate(structuredClone(doc));
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(doc.components.securitySchemes.basicAuth, { type: 'http', scheme: 'basic' });
    for (const path of ['/communication_types', '/send_channel_types', '/clients/add', '/clients/edit/{id}', '/clients', '/clients/{id}']) {
      assert.ok(doc.paths[path], `documents ${path}`);
    }
    assert.deepEqual(doc.paths['/healthz'].get.security, [], 'health checks need no credentials');
  });

  it('is served behind authentication, and Swagger UI lives at /swagger-ui/index.html', async () => {
    assert.equal((await t.call('GET', '/openapi.json', { auth: null })).statusCode, 401);
    const index = await t.call('GET', '/swagger-ui/index.html');
    assert.equal(index.statusCode, 302);
    const ui = await t.call('GET', String(index.headers.location));
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger-ui/i);
  });
});
