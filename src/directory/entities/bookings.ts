import { Type } from 'typebox';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors/index.js';
import type { EntityDef, Item, Row } from '../crud/entity.js';
import { nullable } from '../crud/schemas.js';
import { formatTimestamp } from '../crud/time-format.js';

export const BOOKED_STATUS_ID = 1;
export const CANCELLED_STATUS_ID = 3;

const StatusSchema = Type.Object({ bookingStatusTypeId: Type.Integer(), name: Type.String(), description: nullable(Type.String()) });

export const BookingSchema = Type.Object({
  bookingId: Type.Integer(),
  beforeDate: Type.String(),
  status: StatusSchema,
});

export const StatusInput = Type.Object(
  { bookingStatusTypeId: Type.Optional(Type.Integer({ minimum: 1 })), name: Type.Optional(Type.String({ minLength: 1 })), description: Type.Optional(Type.Unknown()) },
  { additionalProperties: false, description: 'The booking status, by id or by name (e.g. {"name": "Забронирован"})' },
);

/** Resolves `status: {name}` or `{bookingStatusTypeId}` to a status id; booked when absent. */
export async function resolveStatusId(db: Db, status: { bookingStatusTypeId?: number; name?: string } | undefined, fallback: number | null): Promise<number> {
  if (!status || (status.bookingStatusTypeId === undefined && status.name === undefined)) {
    if (fallback !== null) return fallback;
    return BOOKED_STATUS_ID;
  }
  let qb = db.selectFrom('booking_status_types').select('id');
  qb = status.bookingStatusTypeId !== undefined ? qb.where('id', '=', status.bookingStatusTypeId) : qb.where('name', '=', status.name!);
  const row = await qb.executeTakeFirst();
  if (!row) {
    const what = status.bookingStatusTypeId !== undefined ? `id ${status.bookingStatusTypeId}` : `name "${status.name}"`;
    throw new AppError('REFERENCE_NOT_FOUND', `status: no booking status type with ${what}; see GET /booking_status_types`, [{ field: 'status', message: `unknown ${what}` }]);
  }
  return Number(row.id);
}

export const bookings: EntityDef = {
  name: 'booking',
  label: 'Booking',
  path: '/bookings',
  table: 'bookings',
  idField: 'bookingId',
  tag: 'bookings',
  fields: {
    clientId: { column: 'client_id', kind: 'integer', required: true, ref: 'client', filter: true },
    name: { column: 'name', kind: 'string', filter: true },
    beforeDate: { column: 'before_date', kind: 'timestamp', required: true, description: 'The client is reserved until this time' },
    bookingStatusTypeId: { column: 'status_id', kind: 'integer', ref: 'booking_status_type', filter: true },
    communicationTypeId: { column: 'communication_type_id', kind: 'integer', ref: 'communication_type', filter: true },
    employeeId: { column: 'employee_id', kind: 'integer', readOnly: true, filter: true, description: 'Who booked' },
  },
  nameFields: ['name'],
  extraInput: { status: Type.Optional(StatusInput) },
  extraOutput: { status: StatusSchema },
  permissions: { read: 'directory.read', write: 'directory.write' },
  async prepare(_ctx, input, { trx, principal, existing }) {
    const patch: Row = {};
    if (input.status !== undefined || input.bookingStatusTypeId === undefined) {
      patch.status_id = await resolveStatusId(trx, input.status as never, existing ? Number(existing.status_id) : (input.bookingStatusTypeId as number | undefined) ?? null);
    }
    if (!existing && principal) patch.employee_id = principal.employeeId;
    return patch;
  },
  async decorate(_ctx, items, db) {
    const statuses = await db.selectFrom('booking_status_types').selectAll().execute();
    for (const item of items) {
      const s = statuses.find((r: Row) => Number(r.id) === item.bookingStatusTypeId);
      item.status = s ? { bookingStatusTypeId: Number(s.id), name: s.name, description: s.description ?? null } : null;
    }
  },
};

// Every GET /clients/:id: the client and the id of its current booking in one statement (max(id),
// not ORDER BY … LIMIT 1, which sorted in a temporary b-tree; and no joins, which cost more than the
// row itself). Only a client that has a current booking pays a second read for its details. Same
// rule as loadCurrentBookings below and hasCurrentBooking in clients/availability.ts.
const CLIENT_WITH_BOOKING_ID_SQL = `select c.*, (select max(cb.id) from bookings cb
    where cb.client_id = c.id and cb.status_id <> ? and cb.before_date > ?) as current_booking_id
  from clients c where c.id = ?`;
const BOOKING_WITH_STATUS_SQL = `select b.id, b.before_date, s.id as status_id, s.name as status_name, s.description as status_description
  from bookings b join booking_status_types s on s.id = b.status_id where b.id = ?`;

export async function clientWithBooking(ctx: HubContext, id: number, toItem: (row: Row) => Item): Promise<Item | undefined> {
  const [row] = await ctx.database.read.all(CLIENT_WITH_BOOKING_ID_SQL, [CANCELLED_STATUS_ID, ctx.clock.now(), id]);
  if (!row) return undefined;
  const item = toItem(row);
  item.communication = null;
  item.booking = null;
  if (row.current_booking_id !== null && row.current_booking_id !== undefined) {
    const [b] = await ctx.database.read.all(BOOKING_WITH_STATUS_SQL, [row.current_booking_id]);
    if (b) {
      item.booking = {
        bookingId: Number(b.id),
        beforeDate: formatTimestamp(Number(b.before_date)),
        status: { bookingStatusTypeId: Number(b.status_id), name: b.status_name, description: b.status_description ?? null },
      };
    }
  }
  return item;
}

/** The booking shown on a client: the latest one not cancelled whose time has not passed. */
export async function loadCurrentBookings(ctx: HubContext, db: Db, clientIds: number[]): Promise<Map<number, unknown>> {
  const out = new Map<number, unknown>();
  if (clientIds.length === 0) return out;
  const rows = await db
    .selectFrom('bookings')
    .innerJoin('booking_status_types as s', 's.id', 'bookings.status_id')
    .select(['bookings.id', 'bookings.client_id', 'bookings.before_date', 's.id as status_id', 's.name as status_name', 's.description as status_description'])
    .where('bookings.client_id', 'in', clientIds)
    .where('bookings.status_id', '<>', CANCELLED_STATUS_ID)
    .where('bookings.before_date', '>', ctx.clock.now())
    .orderBy('bookings.id', 'desc')
    .execute();
  for (const r of rows as Row[]) {
    const clientId = Number(r.client_id);
    if (out.has(clientId)) continue;
    out.set(clientId, {
      bookingId: Number(r.id),
      beforeDate: formatTimestamp(Number(r.before_date)),
      status: { bookingStatusTypeId: Number(r.status_id), name: r.status_name, description: r.status_description ?? null },
    });
  }
  return out;
}
