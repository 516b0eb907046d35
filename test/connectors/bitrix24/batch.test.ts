import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Bitrix24ConfigError,
  Bitrix24RequestError,
  Bitrix24UnavailableError,
  createBitrix24Client,
  encodeCommand,
  type Bitrix24BatchCommand,
  type Bitrix24Client,
} from '../../../src/connectors/bitrix24/index.js';
import { startBitrix24Emulator, type Bitrix24Emulator } from './emulator.js';

describe('Bitrix24 batch against the emulator', () => {
  let emu: Bitrix24Emulator;
  let client: Bitrix24Client;
  before(async () => {
    emu = await startBitrix24Emulator({ threshold: 0 });
    client = createBitrix24Client({ webhookUrl: emu.webhookUrl }, { rateLimit: { burst: 1000, drainPerSecond: 1000 } });
  });
  after(() => emu.close());
  beforeEach(() => {
    for (const rows of Object.values(emu.store.rows)) rows.clear();
    emu.requests.length = 0;
    emu.down = false;
  });

  it('splits 120 commands into requests of 50 and reports each command, errors included', async () => {
    const commands: Record<string, Bitrix24BatchCommand> = {};
    const bad = new Set(['lead7', 'lead64', 'lead119']);
    for (let i = 0; i < 120; i++) {
      const email = bad.has(`lead${i}`) ? 'broken-address' : `l${i}@example.com`;
      commands[`lead${i}`] = { method: 'crm.lead.add', params: { fields: { TITLE: `Лид ${i}`, EMAIL: [{ VALUE: email, VALUE_TYPE: 'WORK' }] } } };
    }
    const { items, calls } = await client.batch(commands);
    assert.equal(calls, 3);
    assert.deepEqual(emu.requests.map((r) => [r.method, r.subCalls]), [
      ['batch', 50],
      ['batch', 50],
      ['batch', 20],
    ]);
    assert.equal(Object.keys(items).length, 120);
    for (const [key, item] of Object.entries(items)) {
      if (bad.has(key)) {
        assert.ok(!item.ok && item.sent && item.error instanceof Bitrix24RequestError, key);
        assert.equal(!item.ok && item.error.apiError, 'ERROR_CORE');
      } else {
        assert.ok(item.ok, key);
        assert.equal(emu.store.rows.lead.get(Number(item.result))?.TITLE, `Лид ${key.slice(4)}`);
      }
    }
    assert.equal(emu.store.rows.lead.size, 117);
  });

  it('with halt, stops at the first failure: later commands and requests are not sent', async () => {
    const commands: Record<string, Bitrix24BatchCommand> = {};
    for (let i = 0; i < 8; i++) commands[`c${i}`] = { method: 'crm.deal.add', params: { fields: { TITLE: `D${i}` } } };
    commands.c2 = { method: 'crm.deal.get', params: { id: 99999 } };
    const { items, calls } = await client.batch(commands, { halt: true, chunkSize: 4 });
    assert.equal(calls, 1);
    assert.ok(items.c0.ok && items.c1.ok);
    assert.ok(!items.c2.ok && items.c2.sent && items.c2.error instanceof Bitrix24RequestError && items.c2.error.notFound);
    for (const k of ['c3', 'c4', 'c5', 'c6', 'c7']) assert.ok(!items[k].ok && !items[k].sent, k);
    assert.equal(emu.store.rows.deal.size, 2);
  });

  it('keeps $result references working inside a request and resolves earlier requests client-side', async () => {
    const { items, calls } = await client.batch(
      {
        contact: { method: 'crm.contact.add', params: { fields: { NAME: 'Пётр', PHONE: [{ VALUE: '+79165550000', VALUE_TYPE: 'WORK' }] } } },
        deal: { method: 'crm.deal.add', params: { fields: { TITLE: 'Для $result[contact]', CONTACT_ID: '$result[contact]' } } },
        read: { method: 'crm.deal.get', params: { id: '$result[deal]' } },
        // Next request: references to earlier requests are filled in by the client before sending.
        again: { method: 'crm.contact.get', params: { id: '$result[read][CONTACT_ID]' } },
        list: { method: 'crm.deal.list', params: { filter: { CONTACT_ID: '$result[contact]' }, select: ['ID'] } },
      },
      { chunkSize: 3 },
    );
    assert.equal(calls, 2);
    assert.ok(items.contact.ok && items.deal.ok && items.read.ok && items.again.ok && items.list.ok);
    const contactId = String(items.contact.result);
    const deal = items.read.result as Record<string, string>;
    assert.equal(deal.CONTACT_ID, contactId);
    assert.equal(deal.TITLE, `Для ${contactId}`);
    assert.equal((items.again.result as Record<string, string>).NAME, 'Пётр');
    assert.equal(items.list.total, 1);
    assert.equal((emu.requests[1].params.cmd as Record<string, string>).again, `crm.contact.get?id=${contactId}`);
  });

  it('returns totals and next for list commands, and parses PHP empty arrays', async () => {
    for (let i = 0; i < 60; i++) emu.add('deal', { TITLE: `D${i}` });
    const { items } = await client.batch({
      first: { method: 'crm.deal.list', params: { select: ['ID'] } },
      second: { method: 'crm.deal.list', params: { select: ['ID'], start: 50 } },
    });
    assert.ok(items.first.ok && items.second.ok);
    assert.equal(items.first.total, 60);
    assert.equal(items.first.next, 50);
    assert.equal(items.second.next, undefined);
    assert.equal((items.second.result as unknown[]).length, 10);
  });

  it('reports sub-call auth errors typed, and a failed request as unsent for every command', async () => {
    emu.scopes = new Set();
    const scoped = await client.batch({ a: { method: 'crm.deal.list' } });
    assert.ok(!scoped.items.a.ok && scoped.items.a.error instanceof Bitrix24ConfigError);
    emu.scopes = new Set(['crm']);

    emu.down = true;
    const commands = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, { method: 'crm.deal.list' }]));
    const { items, calls } = await client.batch(commands);
    assert.equal(calls, 1, 'an outage stops the run');
    for (const item of Object.values(items)) assert.ok(!item.ok && !item.sent && item.error instanceof Bitrix24UnavailableError);
  });

  it('rejects invalid batches before sending, listing every problem', async () => {
    await assert.rejects(
      client.batch({
        a: { method: 'crm.deal.get', params: { id: '$result[b]' } },
        b: { method: 'batch' },
        'c[1]': { method: 'crm.deal.list' },
        d: { method: 'crm.deal.get', params: { id: '$result[nope][ID]' } },
      }),
      (e: Error) => {
        assert.match(e.message, /"a": \$result\[b\] refers to a command that runs later/);
        assert.match(e.message, /"b": batch cannot be nested/);
        assert.match(e.message, /"c\[1\]": command keys cannot contain brackets/);
        assert.match(e.message, /"d": \$result\[nope\] names no command/);
        return true;
      },
    );
    assert.equal(emu.requests.length, 0);
    await assert.rejects(client.batch({}, { chunkSize: 51 }), RangeError);
  });
});

describe('encodeCommand', () => {
  it('encodes nested params PHP-style and leaves $result references readable', () => {
    const cmd = encodeCommand('crm.deal.add', { fields: { TITLE: 'A&B=C', CONTACT_ID: '$result[c1][0][ID]', PHONE: [{ VALUE: '+7 916' }] } });
    assert.equal(
      cmd,
      'crm.deal.add?fields%5BTITLE%5D=A%26B%3DC&fields%5BCONTACT_ID%5D=$result[c1][0][ID]&fields%5BPHONE%5D%5B0%5D%5BVALUE%5D=%2B7%20916',
    );
    assert.equal(encodeCommand('server.time', {}), 'server.time');
  });
});
