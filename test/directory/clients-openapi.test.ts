import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// The special client routes and parameter-value routes, as the OpenAPI document shows them.
const ROUTES: [string, string, string][] = [
  ['get', '/clients/available', 'directory.read'],
  ['get', '/clients/{id}/availability', 'directory.read'],
  ['get', '/clients/{id}/bookings', 'directory.read'],
  ['put', '/clients/{id}/bookings', 'directory.write'],
  ['post', '/clients/{id}/bookings', 'directory.write'],
  ['get', '/clients/{id}/blocks', 'directory.read'],
  ['post', '/clients/{id}/blocks', 'directory.write'],
  ['delete', '/clients/{id}/blocks/{blockId}', 'directory.write'],
  ['put', '/send_channel_types/{id}/block', 'directory.write'],
  ['get', '/client_groups/{id}/clients', 'directory.read'],
  ['put', '/client_groups/{id}/clients/{clientId}', 'directory.write'],
  ['delete', '/client_groups/{id}/clients/{clientId}', 'directory.write'],
  ['get', '/clients/{id}/groups', 'directory.read'],
  ...(['clients', 'companies', 'deals'] as const).flatMap((e): [string, string, string][] => [
    ['get', `/${e}/{id}/parameters`, 'directory.read'],
    ['put', `/${e}/{id}/parameters`, 'directory.write'],
  ]),
];

for (const kind of TEST_DATABASES) {
  describe(`client routes in the API description on ${kind}`, () => {
    let t: TestHub;
    before(async () => {
      t = await startTestHub(kind);
    });
    after(async () => t.close());

    it('documents every route with tags, a summary and its schemas; the document is valid OpenAPI', async () => {
      const doc = (await t.call('GET', '/openapi.json')).json();
      for (const [method, path] of ROUTES) {
        const op = doc.paths[path]?.[method];
        assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
        assert.ok(op.tags?.length > 0 && op.summary, `${method} ${path} has tags and a summary`);
        assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} documents its responses`);
        if (method === 'put' || method === 'post') assert.ok(op.requestBody || path.includes('{clientId}'), `${method} ${path} documents its body`);
      }
      await SwaggerParser.validate(structuredClone(doc));
    });

    it('declares the permission of every route', () => {
      for (const [method, path, permission] of ROUTES) {
        const url = path.replace(/\{(\w+)\}/g, ':$1');
        const route = t.built.routes.find((r) => r.method === method.toUpperCase() && r.url === url);
        assert.ok(route, `${method} ${url} is registered`);
        assert.equal(route.permission, permission, `${method} ${url}`);
      }
    });
  });
}
