import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

// The "Пример работы системы" section of seeds/003, request by request, with the document's own
// bodies. The clock is set to the document's timestamps so that createTime/updateTime match too.

const DOC_COMMUNICATION_TYPES = [
  { communicationTypeId: 1, name: 'Массовая коммуникация', description: 'Используется для массовой коммуникации с клиентами' },
  { communicationTypeId: 2, name: 'Персональная коммуникация', description: 'Используется для персональной коммуникации с клиентом' },
  { communicationTypeId: 3, name: 'Информационная коммуникация', description: 'Используется для информирования клиентов' },
  { communicationTypeId: 4, name: 'Опрос', description: 'Используется для опроса настроений клиента' },
  { communicationTypeId: 5, name: 'Коммерческий опрос', description: 'Используется для опроса настроений клиента с коммерческой целью' },
  { communicationTypeId: 6, name: 'Сервисная коммуникация', description: 'Используется для сервисной коммуникации с клиентами' },
];
const DOC_SEND_CHANNEL_TYPES = [
  { sendChannelTypeId: 1, name: 'SMS', description: 'Отправка короткого текстового сообщения на телефон клиента' },
  { sendChannelTypeId: 2, name: 'Messenger', description: 'Отправка короткого текстового сообщения в Messenger клиента' },
  { sendChannelTypeId: 3, name: 'Email', description: 'Отправка электронного письма' },
  { sendChannelTypeId: 4, name: 'Push', description: 'Отправка PUSH сообщения' },
];
const CLIENT_KEYS = ['clientId', 'firstName', 'lastName', 'birthDate', 'createTime', 'updateTime', 'available', 'socialMedia', 'communication', 'booking'];
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/;

/** The documented keys of a client, to compare with the document (we add a few keys of our own). */
const documented = (client: Record<string, unknown>) => Object.fromEntries(CLIENT_KEYS.map((k) => [k, client[k]]));

for (const kind of TEST_DATABASES) {
  describe(`003 examples verbatim on ${kind}`, () => {
    const clock = { t: Date.parse('2023-04-12T22:04:02.710Z'), now: () => clock.t };
    let t: TestHub;
    before(async () => {
      t = await startTestHub(kind, { clock });
    });
    after(async () => t.close());

    it('1. GET /communication_types lists the six documented types with their ids', async () => {
      const res = await t.call('GET', '/communication_types');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), DOC_COMMUNICATION_TYPES);
    });

    it('2. GET /send_channel_types contains the four documented channels with their ids and descriptions', async () => {
      const res = await t.call('GET', '/send_channel_types');
      assert.equal(res.statusCode, 200);
      const channels = res.json() as Record<string, unknown>[];
      for (const doc of DOC_SEND_CHANNEL_TYPES) {
        const ours = channels.find((c) => c.sendChannelTypeId === doc.sendChannelTypeId);
        assert.ok(ours, `channel ${doc.sendChannelTypeId} is listed`);
        assert.deepEqual({ sendChannelTypeId: ours.sendChannelTypeId, name: ours.name, description: ours.description }, doc);
      }
    });

    it('3. POST /clients/add answers exactly as documented', async () => {
      // Client 1 as in the document's list (example 5), so that the documented add gets clientId 2.
      const first = await t.call('POST', '/clients/add', { body: { firstName: 'Michael', lastName: 'Jordan', birthDate: '1995-02-02T00:00:00Z' } });
      assert.equal(first.statusCode, 200);
      assert.equal(first.json().clientId, 1);

      clock.t = Date.parse('2023-04-12T23:13:48.363Z');
      const res = await t.call('POST', '/clients/add', { body: { firstName: 'Michael', lastName: 'Jordan', birthDate: '1995-06-02T00:00:00Z' } });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      for (const key of CLIENT_KEYS) assert.ok(key in body, `response has ${key}`);
      assert.deepEqual(documented(body), {
        clientId: 2,
        firstName: 'Michael',
        lastName: 'Jordan',
        birthDate: '1995-06-02T00:00:00.000+00:00',
        createTime: '2023-04-12T23:13:48.363+00:00',
        updateTime: '2023-04-12T23:13:48.363+00:00',
        available: true,
        socialMedia: null,
        communication: null,
        booking: null,
      });
    });

    it('4. PUT /clients/edit/2 answers exactly as documented', async () => {
      clock.t = Date.parse('2023-04-12T23:54:02.814Z');
      const res = await t.call('PUT', '/clients/edit/2', { body: { firstName: 'Michael', lastName: 'Tyson', birthDate: '1992-03-02T00:00:00Z', available: false } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(documented(res.json()), {
        clientId: 2,
        firstName: 'Michael',
        lastName: 'Tyson',
        birthDate: '1992-03-02T00:00:00.000+00:00',
        createTime: '2023-04-12T23:13:48.363+00:00',
        updateTime: '2023-04-12T23:54:02.814+00:00',
        available: false,
        socialMedia: null,
        communication: null,
        booking: null,
      });
    });

    const client1 = {
      clientId: 1,
      firstName: 'Michael',
      lastName: 'Jordan',
      birthDate: '1995-02-02T00:00:00.000+00:00',
      createTime: '2023-04-12T22:04:02.710+00:00',
      updateTime: '2023-04-12T22:04:02.710+00:00',
      available: true,
      socialMedia: null,
      communication: null,
      booking: null,
    };

    it('5. GET /clients lists both clients in the documented form', async () => {
      const res = await t.call('GET', '/clients');
      assert.equal(res.statusCode, 200);
      const list = res.json() as Record<string, unknown>[];
      assert.equal(list.length, 2);
      assert.deepEqual(documented(list[0]), client1);
      const second = documented(list[1]);
      assert.deepEqual({ ...second, createTime: undefined, updateTime: undefined }, {
        clientId: 2,
        firstName: 'Michael',
        lastName: 'Tyson',
        birthDate: '1992-03-02T00:00:00.000+00:00',
        createTime: undefined,
        updateTime: undefined,
        available: false,
        socialMedia: null,
        communication: null,
        booking: null,
      });
      assert.match(String(second.createTime), TIME);
      assert.match(String(second.updateTime), TIME);
    });

    it('6. GET /clients/available answers exactly as documented', async () => {
      const res = await t.call('GET', '/clients/available');
      assert.equal(res.statusCode, 200);
      assert.deepEqual((res.json() as Record<string, unknown>[]).map(documented), [client1]);
      assert.equal(res.headers['x-total-count'], '1');
    });

    it('7. GET /clients/1/availability answers exactly as documented (strings)', async () => {
      const res = await t.call('GET', '/clients/1/availability');
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { clientId: '1', available: 'true' });
      assert.deepEqual((await t.call('GET', '/clients/2/availability')).json(), { clientId: '2', available: 'false' });
    });

    it('8. PUT /clients/2/bookings books the client and answers with the client and its booking', async () => {
      clock.t = Date.parse('2023-04-12T23:43:33.895Z');
      const res = await t.call('PUT', '/clients/2/bookings', { body: { beforeDate: '2023-06-02T00:00:00Z', status: { name: 'Забронирован' } } });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      for (const key of CLIENT_KEYS) assert.ok(key in body, `response has ${key}`);
      assert.equal(body.clientId, 2);
      assert.match(body.createTime, TIME);
      assert.deepEqual(Object.keys(body.booking).sort(), ['beforeDate', 'bookingId', 'status']);
      assert.ok(Number.isInteger(body.booking.bookingId));
      assert.deepEqual(
        { beforeDate: body.booking.beforeDate, status: body.booking.status },
        { beforeDate: '2023-06-02T00:00:00.000+00:00', status: { bookingStatusTypeId: 1, name: 'Забронирован', description: 'Забронирован на весь лимит времени.' } },
      );
      // The booking is stored and shows on the client from now on.
      assert.deepEqual((await t.call('GET', '/clients/2')).json().booking, body.booking);
      const stored = await t.hub.ctx.db.selectFrom('bookings').selectAll().where('id', '=', body.booking.bookingId).executeTakeFirstOrThrow();
      assert.equal(Number(stored.client_id), 2);
      assert.equal(Number(stored.before_date), Date.parse('2023-06-02T00:00:00Z'));
    });

    it('after example 8 the booked client is no longer available', async () => {
      // Make client 2 agree to contact again: still unavailable, because it is booked.
      assert.equal((await t.call('PUT', '/clients/edit/2', { body: { available: true } })).statusCode, 200);
      assert.deepEqual((await t.call('GET', '/clients/2/availability')).json(), { clientId: '2', available: 'false' });
      assert.deepEqual((await t.call('GET', '/clients/available')).json().map((c: { clientId: number }) => c.clientId), [1]);
      // Once beforeDate has passed, the booking no longer counts.
      clock.t = Date.parse('2023-06-02T00:00:00.001Z');
      assert.deepEqual((await t.call('GET', '/clients/2/availability')).json(), { clientId: '2', available: 'true' });
      assert.equal((await t.call('GET', '/clients/2')).json().booking, null);
    });
  });
}
