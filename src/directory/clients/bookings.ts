import { Type } from 'typebox';
import type { Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors/index.js';
import type { Item } from '../crud/entity.js';
import { nullable } from '../crud/schemas.js';
import { parseTimestamp } from '../crud/time-format.js';
import { CANCELLED_STATUS_ID, StatusInput } from '../entities/bookings.js';
import type { DirectoryServices } from '../registry.js';

export const BookingRequest = Type.Object(
  {
    beforeDate: Type.String({ description: 'Reserve the client until this ISO-8601 time (must be in the future), e.g. 2023-06-02T00:00:00Z' }),
    status: Type.Optional(StatusInput),
    bookingStatusTypeId: Type.Optional(Type.Integer({ minimum: 1 })),
    communicationTypeId: Type.Optional(nullable(Type.Integer({ minimum: 1, description: 'Reserve for this communication type only' }))),
    name: Type.Optional(nullable(Type.String({ maxLength: 255 }))),
  },
  { additionalProperties: false },
);

export type BookingInput = {
  beforeDate: string;
  status?: { bookingStatusTypeId?: number; name?: string };
  bookingStatusTypeId?: number;
  communicationTypeId?: number | null;
  name?: string | null;
};

/**
 * Books a client (003 example 8). `create` refuses a client who is already booked (409: one
 * reservation at a time, as the client's single `booking` field implies); `set` (PUT) changes the
 * current booking when there is one, so repeating the same PUT does not pile up bookings.
 * The booking and its event are written by the booking service in one transaction.
 * Answers with the client as 003 shows it, `booking` being the booking just written.
 */
export async function bookClient(
  ctx: HubContext,
  services: DirectoryServices,
  clientId: number,
  body: BookingInput,
  principal: Principal | null,
  mode: 'create' | 'set',
): Promise<Item> {
  await services.client.get(clientId, principal); // 404 before any reference check turns it into a 422
  const now = ctx.clock.now();
  if (parseTimestamp(body.beforeDate, 'beforeDate') <= now) {
    throw new AppError('VALIDATION_FAILED', `beforeDate must be in the future (got ${body.beforeDate})`, [{ field: 'beforeDate', message: 'must be in the future' }]);
  }
  const input: Record<string, unknown> = { beforeDate: body.beforeDate };
  for (const key of ['status', 'bookingStatusTypeId', 'communicationTypeId', 'name'] as const) {
    if (body[key] !== undefined) input[key] = body[key];
  }
  // Check and write in one transaction with the client locked: two concurrent bookings cannot both pass.
  const booking = await services.booking.write(async (trx) => {
    await services.client.lockRow(trx, clientId);
    const current = await trx
      .selectFrom('bookings')
      .select(['id', 'before_date'])
      .where('client_id', '=', clientId)
      .where('status_id', '<>', CANCELLED_STATUS_ID)
      .where('before_date', '>', now)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (current && mode === 'create') {
      throw new AppError(
        'CONFLICT',
        `Client ${clientId} is already booked (booking ${String(current.id)}); change that booking with PUT /clients/${clientId}/bookings or cancel it first`,
      );
    }
    return current
      ? services.booking.update(Number(current.id), input, principal, trx)
      : services.booking.create({ ...input, clientId }, principal, trx);
  });

  const client = await services.client.get(clientId, principal);
  client.booking = { bookingId: booking.bookingId, beforeDate: booking.beforeDate, status: booking.status };
  return client;
}
