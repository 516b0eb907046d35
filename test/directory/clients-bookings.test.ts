import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/platform/auth/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { countRows, startTestHub, type TestHub } from '../support/hub.js';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function eventTopics(t: TestHub, entityType: string, entityId: number): Promise<string[]> {
  const rows = await t.hub.ctx.db.selectFrom('events').select('topic').where('entity_type', '=', entityType).where('entity_id', '=', String(entityId)).orderBy('id').execute();
  return rows.map((r) => String(r.topic));
}
/** An employee with one of the default roles, written straight to the tables (not under test here). */
async function addEmployee(t: TestHub, username: string, role: string): Promise<[string, string]> {
  const db = t.hub.ctx.db;
  const now = Date.now();
  const { id } = await db.insertInto('employees').values({ username, password_hash: await hashPassword('password-1'), active: t.hub.ctx.dialect.bool(true), created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
  const roleRow = await db.selectFrom('roles').select('id').where('name', '=', role).executeTakeFirstOrThrow();
  await db.insertInto('employee_roles').values({ employee_id: id, role_id: roleRow.id }).execute();
  return [username, 'password-1'];
}

for (const kind of TEST_DATABASES) {
  describe(`client availability and bookings on ${kind}`, () => {
    const start = Date.parse('2024-03-01T10:00:00Z');
    const clock = { t: start, now: () => clock.t };
    let t: TestHub;
    const ids: Record<string, number> = {};
    const addClient = async (name: string, available = true) => {
      const res = await t.call('POST', '/clients', { body: { firstName: name, lastName: 'Тестов', available } });
      assert.equal(res.statusCode, 201);
      return (ids[name] = res.json().clientId);
    };
    const book = (id: number, body: unknown, method = 'PUT') => t.call(method, `/clients/${id}/bookings`, { body });
    const availableIds = async (query = '') => (await t.call('GET', `/clients/available${query}`)).json().map((c: { clientId: number }) => c.clientId);

    before(async () => {
      t = await startTestHub(kind, { clock });
      for (const name of ['free', 'refuses', 'booked', 'cancelled', 'expired', 'suspended']) await addClient(name, name !== 'refuses');
      assert.equal((await book(ids.booked, { beforeDate: iso(start + 7 * DAY) })).statusCode, 200);
      assert.equal((await book(ids.cancelled, { beforeDate: iso(start + 7 * DAY), status: { name: 'Бронь отменена' } })).statusCode, 200);
      assert.equal((await book(ids.expired, { beforeDate: iso(start + 1000) })).statusCode, 200);
      assert.equal((await book(ids.suspended, { beforeDate: iso(start + 7 * DAY), bookingStatusTypeId: 2 })).statusCode, 200);
      clock.t = start + 2000; // the "expired" booking is now over
    });
    after(async () => t.close());

    it('lists as available only clients who agree and are not currently booked', async () => {
      assert.deepEqual(await availableIds(), [ids.free, ids.cancelled, ids.expired]);
      for (const [name, expected] of Object.entries({ free: 'true', refuses: 'false', booked: 'false', cancelled: 'true', expired: 'true', suspended: 'false' })) {
        assert.deepEqual((await t.call('GET', `/clients/${ids[name]}/availability`)).json(), { clientId: String(ids[name]), available: expected }, name);
      }
    });

    it('shows the same current booking on a single read (one statement) and in lists (batched)', async () => {
      const listed = new Map<number, unknown>((await t.call('GET', '/clients?limit=100')).json().map((c: { clientId: number; booking: unknown }) => [c.clientId, c.booking]));
      for (const name of ['free', 'refuses', 'booked', 'cancelled', 'expired', 'suspended']) {
        const single = (await t.call('GET', `/clients/${ids[name]}`)).json().booking;
        assert.equal(single !== null, name === 'booked' || name === 'suspended', `${name} has a current booking`);
        assert.deepEqual(single, listed.get(ids[name]), name);
      }
    });

    it('pages and filters /clients/available like /clients', async () => {
      const page = await t.call('GET', '/clients/available?limit=2&sort=-clientId');
      assert.equal(page.headers['x-total-count'], '3');
      assert.deepEqual(page.json().map((c: { clientId: number }) => c.clientId), [ids.expired, ids.cancelled]);
      const next = new URL(/^<([^>]+)>; rel="next"$/.exec(String(page.headers.link))![1], 'http://x');
      assert.deepEqual([next.pathname, next.searchParams.get('offset'), next.searchParams.get('limit'), next.searchParams.get('sort')], ['/clients/available', '2', '2', '-clientId']);
      assert.equal((await t.call('GET', '/clients/available?offset=2&limit=2')).headers.link, undefined);
      assert.deepEqual(await availableIds('?q=FREE'), [ids.free]);
      assert.equal((await t.call('GET', '/clients/available?bogus=1')).statusCode, 400, 'an unknown query parameter is a malformed request');
    });

    it('availability: 404 for a missing client; a channel check also honours active blocks', async () => {
      const missing = await t.call('GET', '/clients/999999/availability');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error, 'NOT_FOUND');
      assert.equal((await t.call('GET', `/clients/${ids.free}/availability?sendChannelTypeId=999`)).statusCode, 422);

      assert.equal((await t.call('POST', `/clients/${ids.free}/blocks`, { body: { sendChannelTypeId: 1, until: iso(clock.t + DAY) } })).statusCode, 201);
      const check = async (channel: number) => (await t.call('GET', `/clients/${ids.free}/availability?sendChannelTypeId=${channel}`)).json().available;
      assert.equal(await check(1), 'false', 'SMS is blocked');
      assert.equal(await check(3), 'true', 'email is not');
      assert.equal((await t.call('GET', `/clients/${ids.free}/availability`)).json().available, 'true', 'without a channel blocks do not count');
      clock.t += DAY + 1;
      assert.equal(await check(1), 'true', 'the temporary block is over');
    });

    it('POST books a free client (201) and refuses a booked one (409); PUT changes the current booking', async () => {
      const id = await addClient('newcomer');
      const created = await book(id, { beforeDate: iso(clock.t + 3 * DAY), status: { name: 'Забронирован' } }, 'POST');
      assert.equal(created.statusCode, 201);
      const bookingId = created.json().booking.bookingId;
      assert.equal(created.json().clientId, id);

      const again = await book(id, { beforeDate: iso(clock.t + 4 * DAY) }, 'POST');
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().error, 'CONFLICT');

      const changed = await book(id, { beforeDate: iso(clock.t + 5 * DAY) });
      assert.equal(changed.statusCode, 200);
      assert.equal(changed.json().booking.bookingId, bookingId, 'PUT changes the current booking rather than piling up a new one');
      assert.equal(changed.json().booking.beforeDate, iso(clock.t + 5 * DAY).replace('Z', '+00:00'));
      assert.equal(changed.json().booking.status.name, 'Забронирован', 'a status not sent keeps its value');

      const cancelled = await book(id, { beforeDate: iso(clock.t + 5 * DAY), status: { bookingStatusTypeId: 3 } });
      assert.equal(cancelled.json().booking.status.name, 'Бронь отменена');
      assert.equal((await t.call('GET', `/clients/${id}`)).json().booking, null, 'a cancelled booking is not shown on the client');
      assert.equal((await t.call('GET', `/clients/${id}/availability`)).json().available, 'true');

      const rebooked = await book(id, { beforeDate: iso(clock.t + 6 * DAY) }, 'POST');
      assert.equal(rebooked.statusCode, 201);
      assert.notEqual(rebooked.json().booking.bookingId, bookingId);

      const list = await t.call('GET', `/clients/${id}/bookings`);
      assert.equal(list.statusCode, 200);
      assert.equal(list.headers['x-total-count'], '2');
      assert.deepEqual(list.json().map((b: { bookingId: number; status: { bookingStatusTypeId: number } }) => [b.bookingId, b.status.bookingStatusTypeId]), [
        [bookingId, 3],
        [rebooked.json().booking.bookingId, 1],
      ]);
      assert.ok(list.json().every((b: { clientId: number }) => b.clientId === id));
      assert.deepEqual(await eventTopics(t, 'booking', bookingId), ['booking.created', 'booking.updated', 'booking.updated']);
      assert.deepEqual(await eventTopics(t, 'booking', rebooked.json().booking.bookingId), ['booking.created']);
    });

    it('refuses bad bookings with precise errors and writes neither a booking nor an event', async () => {
      const bookings = await countRows(t, 'bookings');
      const events = await countRows(t, 'events');
      const future = iso(clock.t + DAY);

      const badStatus = await book(ids.free, { beforeDate: future, status: { name: 'Нет такого' } });
      assert.equal(badStatus.statusCode, 422);
      assert.match(badStatus.json().description, /Нет такого/);
      assert.deepEqual(badStatus.json().details.map((d: { field: string }) => d.field), ['status']);

      const past = await book(ids.free, { beforeDate: iso(clock.t - 1) });
      assert.equal(past.statusCode, 422);
      assert.deepEqual(past.json().details, [{ field: 'beforeDate', message: 'must be in the future' }]);

      assert.equal((await book(ids.free, { beforeDate: 'tomorrow' })).statusCode, 422);
      assert.equal((await book(ids.free, {})).statusCode, 422, 'beforeDate is required');
      assert.equal((await book(ids.free, { beforeDate: future, extra: 1 })).statusCode, 422, 'unknown fields are refused');
      assert.equal((await book(ids.free, { beforeDate: future, communicationTypeId: 99 })).statusCode, 422);
      assert.equal((await book(999999, { beforeDate: future })).statusCode, 404);
      assert.equal((await book(999999, { beforeDate: future }, 'POST')).statusCode, 404);
      assert.equal((await t.call('GET', '/clients/999999/bookings')).statusCode, 404);

      assert.equal(await countRows(t, 'bookings'), bookings);
      assert.equal(await countRows(t, 'events'), events);
    });

    it('needs directory.write to book and directory.read to look', async () => {
      const analyst = await addEmployee(t, 'analyst-b', 'Аналитик');
      const refused = await t.call('PUT', `/clients/${ids.free}/bookings`, { auth: analyst, body: { beforeDate: iso(clock.t + DAY) } });
      assert.equal(refused.statusCode, 403);
      assert.equal((await t.call('GET', `/clients/${ids.free}/availability`, { auth: analyst })).statusCode, 200);
      assert.equal((await t.call('GET', '/clients/available', { auth: analyst })).statusCode, 200);
      assert.equal((await t.call('GET', '/clients/available', { auth: null })).statusCode, 401);
      const manager = await addEmployee(t, 'manager-b', 'Менеджер');
      const ok = await t.call('POST', `/clients/${ids.free}/bookings`, { auth: manager, body: { beforeDate: iso(clock.t + DAY) } });
      assert.equal(ok.statusCode, 201);
      const row = await t.hub.ctx.db.selectFrom('bookings').select('employee_id').where('id', '=', ok.json().booking.bookingId).executeTakeFirstOrThrow();
      const me = await t.hub.ctx.db.selectFrom('employees').select('id').where('username', '=', 'manager-b').executeTakeFirstOrThrow();
      assert.equal(Number(row.employee_id), Number(me.id), 'the booking records who booked');
    });
  });
}
