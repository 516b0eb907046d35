import { Type } from 'typebox';
import type { Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors/index.js';
import type { Item } from '../crud/entity.js';
import { nullable } from '../crud/schemas.js';
import { parseTimestamp } from '../crud/time-format.js';
import type { DirectoryServices } from '../registry.js';
import { isActiveBlock } from './availability.js';

const until = Type.Optional(nullable(Type.String({ description: 'ISO-8601 end of a temporary block; null or absent blocks permanently' })));
const reason = Type.Optional(nullable(Type.String({ maxLength: 1000 })));

export const ClientBlockRequest = Type.Object({ sendChannelTypeId: Type.Integer({ minimum: 1 }), until, reason }, { additionalProperties: false });
export const ChannelBlockRequest = Type.Object({ clientId: Type.Integer({ minimum: 1 }), until, reason }, { additionalProperties: false });

export interface BlockInput {
  clientId: number;
  sendChannelTypeId: number;
  until?: string | null;
  reason?: string | null;
}

/**
 * Blocks one channel for one client, temporarily or for good. `create` (POST on the client) refuses
 * a second active block of the same channel (409); `set` (PUT on the channel) changes the active
 * block when there is one, so the PUT can be repeated. Rows and events go through the channel_block
 * service, one transaction each.
 */
export async function blockChannel(ctx: HubContext, services: DirectoryServices, body: BlockInput, principal: Principal | null, mode: 'create' | 'set'): Promise<Item> {
  const now = ctx.clock.now();
  if (body.until !== undefined && body.until !== null && parseTimestamp(body.until, 'until') <= now) {
    throw new AppError('VALIDATION_FAILED', `until must be in the future (got ${body.until}); send null for a permanent block`, [{ field: 'until', message: 'must be in the future' }]);
  }
  const input: Record<string, unknown> = { until: body.until ?? null };
  if (body.reason !== undefined) input.reason = body.reason;
  // Check and write in one transaction with the client locked: no two active blocks of one channel.
  return services.channel_block.write(async (trx) => {
    await services.client.lockRow(trx, body.clientId);
    const active = await trx
      .selectFrom('channel_blocks')
      .select('id')
      .where('client_id', '=', body.clientId)
      .where('send_channel_type_id', '=', body.sendChannelTypeId)
      .where((eb) => isActiveBlock(eb, now))
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (active && mode === 'create') {
      throw new AppError(
        'CONFLICT',
        `Channel ${body.sendChannelTypeId} is already blocked for client ${body.clientId} (channelBlockId ${String(active.id)}); ` +
          `change it with PUT /send_channel_types/${body.sendChannelTypeId}/block or delete it first`,
      );
    }
    if (active) return services.channel_block.update(Number(active.id), input, principal, trx);
    return services.channel_block.create({ ...input, clientId: body.clientId, sendChannelTypeId: body.sendChannelTypeId }, principal, trx);
  });
}

/** Deletes a block only through the client it belongs to (a block id of another client is a 404). */
export async function unblockChannel(ctx: HubContext, services: DirectoryServices, clientId: number, blockId: number, principal: Principal | null): Promise<void> {
  const row = await ctx.db.selectFrom('channel_blocks').select('id').where('id', '=', blockId).where('client_id', '=', clientId).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `Client ${clientId} has no channel block ${blockId}`);
  await services.channel_block.remove(blockId, principal);
}
