import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBitrix24Client, type Bitrix24Client } from '../../../src/connectors/bitrix24/index.js';
import { startBitrix24Emulator, type Bitrix24Emulator } from './emulator.js';

describe('Bitrix24 CRM helpers against the emulator', () => {
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
  });

  it('finds contacts by phone: exact stored string only, with their PHONE/EMAIL multifields', async () => {
    const a = emu.add('contact', { NAME: 'Анна', PHONE: [{ VALUE: '+79161234567', VALUE_TYPE: 'WORK' }] });
    emu.add('contact', { NAME: 'Борис', PHONE: [{ VALUE: '8 (916) 123-45-67', VALUE_TYPE: 'WORK' }] });
    const c = emu.add('contact', {
      NAME: 'Вера',
      PHONE: [{ VALUE: '+70000000000' }, { VALUE: '+79161234567', VALUE_TYPE: 'MOBILE' }],
      EMAIL: [{ VALUE: 'vera@example.com' }],
    });
    emu.add('lead', { TITLE: 'lead with the same phone', PHONE: [{ VALUE: '+79161234567' }] });

    const found = await client.findContactByPhone('+79161234567');
    assert.deepEqual(found.map((x) => Number(x.ID)), [a, c]);
    assert.equal(found[1].NAME, 'Вера');
    assert.deepEqual(found[1].PHONE?.map((p) => p.VALUE), ['+70000000000', '+79161234567']);
    assert.equal(found[1].EMAIL?.[0].VALUE, 'vera@example.com');
    assert.deepEqual(
      emu.requests.map((r) => r.method),
      ['crm.duplicate.findbycomm', 'crm.contact.list'],
    );
    assert.equal(emu.requests[0].params.entity_type, 'CONTACT');

    assert.deepEqual(await client.findContactByPhone('+79990000000'), []);
    await assert.rejects(client.findContactByPhone('  '), TypeError);
  });

  it('finds contacts by e-mail', async () => {
    emu.add('contact', { NAME: 'Один', EMAIL: [{ VALUE: 'one@example.com' }] });
    const two = emu.add('contact', { NAME: 'Два', EMAIL: [{ VALUE: 'two@example.com', VALUE_TYPE: 'HOME' }] });
    const found = await client.findContactByEmail('two@example.com');
    assert.deepEqual(found.map((x) => Number(x.ID)), [two]);
    assert.equal(found[0].EMAIL?.[0].VALUE_TYPE, 'HOME');
  });

  it('finds deals with filter prefixes, select and order', async () => {
    emu.add('deal', { TITLE: 'малая', OPPORTUNITY: 500, STAGE_ID: 'NEW' });
    const big = emu.add('deal', { TITLE: 'большая', OPPORTUNITY: 5000, STAGE_ID: 'NEW' });
    const bigger = emu.add('deal', { TITLE: 'огромная', OPPORTUNITY: 90000, STAGE_ID: 'NEW' });
    emu.add('deal', { TITLE: 'выигранная', OPPORTUNITY: 70000, STAGE_ID: 'WON' });

    const deals = await client.findDeals({
      filter: { '>OPPORTUNITY': 1000, STAGE_ID: 'NEW' },
      select: ['ID', 'TITLE', 'OPPORTUNITY'],
      order: { OPPORTUNITY: 'DESC' },
    });
    assert.deepEqual(deals.map((d) => Number(d.ID)), [bigger, big]);
    assert.deepEqual(Object.keys(deals[0]).sort(), ['ID', 'OPPORTUNITY', 'TITLE']);

    const notWon = await client.findDeals({ filter: { '!STAGE_ID': 'WON', '%TITLE': 'ая' } });
    assert.equal(notWon.length, 3);
    assert.equal((await client.findDeals({ filter: { '@ID': [big, bigger] } })).length, 2);
  });

  it('gets a deal by id, or null when it does not exist', async () => {
    const id = emu.add('deal', { TITLE: 'Сделка', CONTACT_ID: 7 });
    const deal = await client.getDeal(id);
    assert.equal(deal?.TITLE, 'Сделка');
    assert.equal(deal?.CONTACT_ID, '7');
    assert.equal(await client.getDeal(id + 100), null);
    await assert.rejects(client.getDeal('abc'), TypeError);
  });

  it('adds a lead with REGISTER_SONET_EVENT, and is idempotent by ORIGINATOR_ID + ORIGIN_ID', async () => {
    const fields = { TITLE: 'Заявка с сайта', NAME: 'Иван', PHONE: [{ VALUE: '+79160000001', VALUE_TYPE: 'WORK' }], ORIGINATOR_ID: 'conveyor', ORIGIN_ID: 'run-42' };
    const first = await client.addLead(fields);
    assert.equal(first.created, true);
    const add = emu.requests.find((r) => r.method === 'crm.lead.add')!;
    assert.deepEqual(add.params.params, { REGISTER_SONET_EVENT: 'Y' });

    const again = await client.addLead(fields);
    assert.deepEqual(again, { id: first.id, created: false });
    assert.equal(emu.store.rows.lead.size, 1);
    assert.equal(emu.count({ method: 'crm.lead.add' }), 1);

    const other = await client.addLead({ ...fields, ORIGIN_ID: 'run-43' }, { registerSonetEvent: false });
    assert.equal(other.created, true);
    assert.notEqual(other.id, first.id);
    assert.deepEqual(emu.requests.at(-1)!.params.params, { REGISTER_SONET_EVENT: 'N' });

    // Without an origin pair nothing can be matched, so every call adds.
    await client.addLead({ TITLE: 'без ключа' });
    await client.addLead({ TITLE: 'без ключа' });
    assert.equal(emu.store.rows.lead.size, 4);
    assert.equal(emu.store.rows.lead.get(first.id)?.PHONE instanceof Array, true);
  });

  it('adds a deal, idempotent by ORIGINATOR_ID + ORIGIN_ID like a lead', async () => {
    const fields = { TITLE: 'Заказ 77', CONTACT_ID: 7, OPPORTUNITY: 12500, ORIGINATOR_ID: 'conveyor', ORIGIN_ID: 'run-77' };
    const first = await client.addDeal(fields);
    assert.equal(first.created, true);
    assert.equal(emu.store.rows.deal.get(first.id)?.TITLE, 'Заказ 77');
    assert.deepEqual(await client.addDeal(fields), { id: first.id, created: false });
    assert.equal(emu.count({ method: 'crm.deal.add' }), 1);
    const other = await client.addDeal({ ...fields, ORIGIN_ID: 'run-78' }, { registerSonetEvent: false });
    assert.notEqual(other.id, first.id);
    assert.deepEqual(emu.requests.at(-1)!.params.params, { REGISTER_SONET_EVENT: 'N' });
  });

  it('updates a deal', async () => {
    const id = emu.add('deal', { TITLE: 'Старое', STAGE_ID: 'NEW' });
    await client.updateDeal(id, { STAGE_ID: 'PREPARATION', COMMENTS: 'перезвонить' }, { registerSonetEvent: true });
    const row = emu.store.rows.deal.get(id)!;
    assert.equal(row.STAGE_ID, 'PREPARATION');
    assert.equal(row.TITLE, 'Старое');
    assert.deepEqual(emu.requests.at(-1)!.params.params, { REGISTER_SONET_EVENT: 'Y' });
    await assert.rejects(client.updateDeal(id + 1, { TITLE: 'x' }), (e: Error & { notFound?: boolean }) => e.notFound === true);
  });
});
