// `npm start` on a fresh clone, as a real process: embedded SQLite under ./data, demo data, Swagger UI,
// a valid OpenAPI document and Prometheus metrics.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { basic, client, freePort, spawnConveyor, stop, tempDir, waitReady, type ConveyorProcess } from './fixtures/hub-process.js';

describe('fresh start on embedded SQLite (a real process in an empty directory)', () => {
  const dir = tempDir();
  let hub: ConveyorProcess | undefined;
  let baseUrl = '';

  before(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    hub = spawnConveyor(['start', '--port', String(port)], { cwd: dir.path });
    await waitReady(hub, baseUrl);
  });

  after(async () => {
    await stop(hub);
    dir.remove();
  });

  it('creates ./data/conveyor.db in the working directory', () => {
    assert.ok(existsSync(join(dir.path, 'data', 'conveyor.db')), 'data/conveyor.db exists');
  });

  it('seeds the demo directory: Admin/admin lists the demo clients with X-Total-Count', async () => {
    const res = await client(baseUrl)('GET', '/clients?limit=5');
    assert.equal(res.status, 200);
    const total = Number(res.headers.get('x-total-count'));
    assert.ok(total >= 300, `X-Total-Count ${total} >= 300`);
    const items = (await res.json()) as { clientId: number; lastName: string }[];
    assert.equal(items.length, 5);
    assert.ok(items.every((c) => Number.isInteger(c.clientId) && typeof c.lastName === 'string'));
    assert.match(res.headers.get('link') ?? '', /rel="next"/);
  });

  it('loads the demo flow (no ./flows folder) and runs the README request through it', async () => {
    const res = await client(baseUrl)('POST', '/flows/lead-triage/requests?wait=5000', { name: ' Anna ', phone: '8 (999) 123-45-67', email: 'Anna@Example.COM', total: 150000 });
    assert.equal(res.status, 200);
    const out = (await res.json()) as { state: string; context: Record<string, Record<string, unknown>> };
    assert.equal(out.state, 'succeeded');
    assert.equal(out.context['key-account']?.queue, 'key-accounts');
    assert.equal(out.context['call-back']?.phone, '+79991234567');
  });

  it('refuses requests without credentials with a JSON error body', async () => {
    const res = await client(baseUrl, null)('GET', '/clients');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
    const body = (await res.json()) as { error: string; description: string };
    assert.equal(body.error, 'UNAUTHENTICATED');
    assert.equal(typeof body.description, 'string');
  });

  it('/swagger-ui/index.html leads to the Swagger UI', async () => {
    const auth = { authorization: basic('Admin', 'admin') };
    const first = await fetch(`${baseUrl}/swagger-ui/index.html`, { headers: auth, redirect: 'manual' });
    await first.arrayBuffer();
    let res = first;
    if (first.status >= 300 && first.status < 400) {
      const location = first.headers.get('location');
      assert.ok(location, 'redirect has a Location');
      res = await fetch(new URL(location, baseUrl), { headers: auth });
    }
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<title>Swagger UI<\/title>/);
    // The page's own assets load too (a browser would fetch these next).
    const css = await fetch(new URL('./static/swagger-ui.css', res.url), { headers: auth });
    assert.equal(css.status, 200);
    await css.arrayBuffer();
  });

  it('/openapi.json is a valid OpenAPI 3 document that covers the 003 endpoints', async () => {
    const res = await client(baseUrl)('GET', '/openapi.json');
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    // validate() dereferences in place: give it a copy and keep the original for the checks below.
    await SwaggerParser.validate(structuredClone(doc) as never);
    for (const [path, method] of [
      ['/clients', 'get'],
      ['/clients/add', 'post'],
      ['/clients/edit/{id}', 'put'],
      ['/communication_types', 'get'],
      ['/send_channel_types', 'get'],
    ]) {
      assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    }
  });

  it('/metrics with Admin returns Prometheus text with the HTTP duration histogram', async () => {
    const res = await client(baseUrl)('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^# TYPE conveyor_http_request_duration_seconds histogram$/m);
    assert.match(text, /^conveyor_http_request_duration_seconds_count\{[^}]*route="\/clients"[^}]*\} \d+/m);
  });
});
