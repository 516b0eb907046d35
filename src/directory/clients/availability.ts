import type { Expression, ExpressionBuilder, ExpressionWrapper, SqlBool } from 'kysely';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import { CANCELLED_STATUS_ID } from '../entities/bookings.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Eb = ExpressionBuilder<any, any>;

/**
 * "Booked" means what the client's `booking` field shows (entities/bookings.ts loadCurrentBookings):
 * a booking that is not cancelled and whose beforeDate has not passed. Kept as one SQL condition so
 * the list of available clients and the single-client check can never disagree. The same rule is
 * spelled in entities/bookings.ts (loadCurrentBookings, CLIENT_WITH_BOOKING_SQL); the client tests
 * cross-check the three (GET /clients/:id booking vs /availability vs /clients/available).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function hasCurrentBooking(eb: Eb, now: number, clientIdRef = 'clients.id'): ExpressionWrapper<any, any, SqlBool> {
  return eb.exists(
    eb
      .selectFrom('bookings as cb')
      .select('cb.id')
      .whereRef('cb.client_id', '=', clientIdRef)
      .where('cb.status_id', '<>', CANCELLED_STATUS_ID)
      .where('cb.before_date', '>', now),
  );
}

/** A block is active while it is permanent (no `until`) or its `until` is still ahead. */
export function isActiveBlock(eb: Eb, now: number, table = 'channel_blocks'): Expression<SqlBool> {
  return eb.or([eb(`${table}.until`, 'is', null), eb(`${table}.until`, '>', now)]);
}

/** Available for communication: the client agrees (`available`) and nobody has booked them. */
export function availableClients(ctx: HubContext, now: number) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (qb: any) => qb.where('clients.available', '=', ctx.dialect.bool(true)).where((eb: Eb) => eb.not(hasCurrentBooking(eb, now)));
}

/**
 * The single-client check behind GET /clients/:id/availability. With a channel, an active block of
 * that channel for the client also makes them unavailable. Returns null when the client is missing.
 */
export async function checkAvailability(ctx: HubContext, db: Db, clientId: number, sendChannelTypeId?: number): Promise<boolean | null> {
  const now = ctx.clock.now();
  const row = await db
    .selectFrom('clients')
    .select((eb) => [
      'clients.available',
      hasCurrentBooking(eb, now).as('booked'),
      ...(sendChannelTypeId === undefined
        ? []
        : [
            eb
              .exists(
                eb
                  .selectFrom('channel_blocks')
                  .select('channel_blocks.id')
                  .whereRef('channel_blocks.client_id', '=', 'clients.id')
                  .where('channel_blocks.send_channel_type_id', '=', sendChannelTypeId)
                  .where((b) => isActiveBlock(b, now)),
              )
              .as('blocked'),
          ]),
    ])
    .where('clients.id', '=', clientId)
    .executeTakeFirst();
  if (!row) return null;
  // Booleans come back as 0/1 from SQLite and true/false from PostgreSQL.
  const truthy = (v: unknown) => v === true || v === 1 || v === '1';
  return truthy(row.available) && !truthy(row.booked) && !truthy((row as { blocked?: unknown }).blocked);
}
