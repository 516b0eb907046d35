import type { Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors/index.js';
import type { DirectoryServices } from '../registry.js';

/** Clients that are members of the group (a modifier for the client list). */
export const inGroup = (groupId: number) => (qb: any) =>
  qb.where((eb: any) => eb.exists(eb.selectFrom('client_group_members as m').select('m.client_id').whereRef('m.client_id', '=', 'clients.id').where('m.group_id', '=', groupId)));

/** Groups the client belongs to (a modifier for the client_group list). */
export const groupsOf = (clientId: number) => (qb: any) =>
  qb.where((eb: any) =>
    eb.exists(eb.selectFrom('client_group_members as m').select('m.group_id').whereRef('m.group_id', '=', 'client_groups.id').where('m.client_id', '=', clientId)),
  );

/**
 * Adds or removes one membership. The change and its `client.groups_changed` event share one
 * transaction; adding an existing member changes nothing and publishes nothing (PUT is repeatable).
 * Returns whether anything changed.
 */
export async function changeMembership(
  ctx: HubContext,
  services: DirectoryServices,
  groupId: number,
  clientId: number,
  principal: Principal | null,
  action: 'add' | 'remove',
): Promise<boolean> {
  return services.client.write(async (trx) => {
    await services.client_group.get(groupId, principal, trx); // 404s
    await services.client.get(clientId, principal, trx);
    let changed: boolean;
    if (action === 'add') {
      const result = await trx
        .insertInto('client_group_members')
        .values({ group_id: groupId, client_id: clientId })
        .onConflict((oc) => oc.columns(['group_id', 'client_id']).doNothing())
        .executeTakeFirst();
      changed = Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    } else {
      const result = await trx.deleteFrom('client_group_members').where('group_id', '=', groupId).where('client_id', '=', clientId).executeTakeFirst();
      changed = Number(result.numDeletedRows) > 0;
      if (!changed) throw new AppError('NOT_FOUND', `Client ${clientId} is not a member of client group ${groupId}`);
    }
    if (changed) {
      await ctx.events.publish(trx, {
        topic: 'client.groups_changed',
        entityType: 'client',
        entityId: clientId,
        payload: { added: action === 'add' ? [groupId] : [], removed: action === 'remove' ? [groupId] : [], clientGroupIds: await groupIds(trx, clientId) },
      });
    }
    return changed;
  });
}

async function groupIds(db: Db, clientId: number): Promise<number[]> {
  const rows = await db.selectFrom('client_group_members').select('group_id').where('client_id', '=', clientId).orderBy('group_id').execute();
  return rows.map((r) => Number(r.group_id));
}
