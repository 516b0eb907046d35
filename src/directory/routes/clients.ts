import { Type, type TObject } from 'typebox';
import type { HubContext } from '../../platform/context.js';
import { AppError, notFound } from '../../platform/errors/index.js';
import type { HubApp } from '../../platform/http/index.js';
import { IdParams, itemSchema, listQuerySchema } from '../crud/schemas.js';
import type { ListQuery } from '../crud/service.js';
import type { DirectoryServices } from '../registry.js';
import { availableClients, checkAvailability, isActiveBlock } from '../clients/availability.js';
import { blockChannel, ChannelBlockRequest, ClientBlockRequest, unblockChannel, type BlockInput } from '../clients/blocks.js';
import { bookClient, BookingRequest, type BookingInput } from '../clients/bookings.js';
import { changeMembership, groupsOf, inGroup } from '../clients/groups.js';
import { sendPage } from '../crud/paging.js';

const read = { permission: 'directory.read' as const };
const write = { permission: 'directory.write' as const };
const ClientBlockParams = Type.Object({ id: Type.Integer({ minimum: 1, description: 'Client id' }), blockId: Type.Integer({ minimum: 1, description: 'Channel block id' }) });
const MemberParams = Type.Object({ id: Type.Integer({ minimum: 1, description: 'Client group id' }), clientId: Type.Integer({ minimum: 1 }) });
type Id = { id: number };

/** The client routes of 003 beyond plain CRUD: availability, bookings, channel blocks, groups. */
export function registerClientRoutes(app: HubApp, ctx: HubContext, services: DirectoryServices): void {
  const { client, booking, channel_block: block, client_group: group } = services;
  const clientItem = itemSchema(client.def);
  const clientList = { querystring: listQuerySchema(client.def), response: { 200: Type.Array(clientItem) } };

  app.get(
    '/clients/available',
    { config: read, schema: { tags: ['clients'], summary: 'List clients available for communication: available and not booked (003 example 6)', ...clientList } },
    async (request, reply) => sendPage(request.url, reply, await client.list(request.query as ListQuery, request.principal, availableClients(ctx, ctx.clock.now()))),
  );

  app.get(
    '/clients/:id/availability',
    {
      config: read,
      schema: {
        tags: ['clients'],
        summary:
          'Whether a client can be contacted now: available and not booked (003 example 7; values are strings as in 003). ' +
          'With ?sendChannelTypeId= an active block of that channel also makes the client unavailable.',
        params: IdParams,
        querystring: Type.Object({ sendChannelTypeId: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ clientId: Type.String({ examples: ['1'] }), available: Type.String({ enum: ['true', 'false'] }) }) },
      },
    },
    async (request) => {
      const { id } = request.params as Id;
      const { sendChannelTypeId } = request.query as { sendChannelTypeId?: number };
      if (sendChannelTypeId !== undefined && !(await ctx.db.selectFrom('send_channel_types').select('id').where('id', '=', sendChannelTypeId).executeTakeFirst())) {
        throw new AppError('REFERENCE_NOT_FOUND', `sendChannelTypeId: Send channel type ${sendChannelTypeId} does not exist`, [{ field: 'sendChannelTypeId', message: 'does not exist' }]);
      }
      const available = await checkAvailability(ctx, ctx.db, id, sendChannelTypeId);
      if (available === null) throw notFound('Client', id);
      return { clientId: String(id), available: String(available) };
    },
  );

  // Bookings of one client (003 example 8).
  const bookingTags = ['clients', 'bookings'];
  app.get(
    '/clients/:id/bookings',
    { config: read, schema: { tags: bookingTags, summary: 'List every booking of a client (current, past and cancelled)', params: IdParams, querystring: listQuerySchema(booking.def), response: { 200: Type.Array(itemSchema(booking.def)) } } },
    async (request, reply) => {
      const { id } = request.params as Id;
      await client.get(id, request.principal);
      return sendPage(request.url, reply, await booking.list({ ...(request.query as ListQuery), clientId: id }, request.principal));
    },
  );
  app.put(
    '/clients/:id/bookings',
    {
      config: write,
      schema: {
        tags: bookingTags,
        summary: 'Book a client for future communications (003 example 8): changes the current booking if there is one, else creates it; answers with the client',
        params: IdParams,
        body: BookingRequest,
        response: { 200: clientItem },
      },
    },
    async (request) => bookClient(ctx, services, (request.params as Id).id, request.body as BookingInput, request.principal, 'set'),
  );
  app.post(
    '/clients/:id/bookings',
    {
      config: write,
      schema: { tags: bookingTags, summary: 'Book a client who is not booked yet (409 if they are); answers with the client', params: IdParams, body: BookingRequest, response: { 201: clientItem } },
    },
    async (request, reply) => {
      const result = await bookClient(ctx, services, (request.params as Id).id, request.body as BookingInput, request.principal, 'create');
      reply.code(201);
      return result;
    },
  );

  // Channel blocks of one client, and the channel-side form.
  const blockTags = ['clients', 'channel blocks'];
  const blockItem = itemSchema(block.def);
  const blockQuery = listQuerySchema(block.def) as TObject;
  app.get(
    '/clients/:id/blocks',
    {
      config: read,
      schema: {
        tags: blockTags,
        summary: 'List channel blocks of a client (a temporary block whose time has passed is active: false); ?active=true|false filters',
        params: IdParams,
        querystring: Type.Object({ ...blockQuery.properties, active: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: Type.Array(blockItem) },
      },
    },
    async (request, reply) => {
      const { id } = request.params as Id;
      await client.get(id, request.principal);
      const query = request.query as ListQuery & { active?: boolean };
      const now = ctx.clock.now();
      const extra = query.active === undefined ? undefined : (qb: any) => qb.where((eb: any) => (query.active ? isActiveBlock(eb, now) : eb.not(isActiveBlock(eb, now))));
      return sendPage(request.url, reply, await block.list({ ...query, clientId: id }, request.principal, extra));
    },
  );
  app.post(
    '/clients/:id/blocks',
    { config: write, schema: { tags: blockTags, summary: 'Block a channel for a client, until a time or permanently (409 if already blocked)', params: IdParams, body: ClientBlockRequest, response: { 201: blockItem } } },
    async (request, reply) => {
      const { id } = request.params as Id;
      await client.get(id, request.principal);
      const created = await blockChannel(ctx, services, { ...(request.body as Omit<BlockInput, 'clientId'>), clientId: id }, request.principal, 'create');
      reply.code(201);
      return created;
    },
  );
  app.delete(
    '/clients/:id/blocks/:blockId',
    { config: write, schema: { tags: blockTags, summary: 'Lift a channel block of a client', params: ClientBlockParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      const { id, blockId } = request.params as { id: number; blockId: number };
      await unblockChannel(ctx, services, id, blockId, request.principal);
      return (reply as any).code(204).send();
    },
  );
  app.put(
    '/send_channel_types/:id/block',
    {
      config: write,
      schema: {
        tags: ['reference data', 'channel blocks'],
        summary: 'Block this channel for a client, until a time or permanently; changes the active block if there is one',
        params: IdParams,
        body: ChannelBlockRequest,
        response: { 200: blockItem },
      },
    },
    async (request) => {
      const { id } = request.params as Id;
      await services.send_channel_type.get(id, request.principal);
      return blockChannel(ctx, services, { ...(request.body as Omit<BlockInput, 'sendChannelTypeId'>), sendChannelTypeId: id }, request.principal, 'set');
    },
  );

  // Group membership.
  app.get(
    '/client_groups/:id/clients',
    { config: read, schema: { tags: ['clients'], summary: 'List the clients of a group', params: IdParams, ...clientList } },
    async (request, reply) => {
      const { id } = request.params as Id;
      await group.get(id, request.principal);
      return sendPage(request.url, reply, await client.list(request.query as ListQuery, request.principal, inGroup(id)));
    },
  );
  app.get(
    '/clients/:id/groups',
    { config: read, schema: { tags: ['clients'], summary: 'List the groups a client belongs to', params: IdParams, querystring: listQuerySchema(group.def), response: { 200: Type.Array(itemSchema(group.def)) } } },
    async (request, reply) => {
      const { id } = request.params as Id;
      await client.get(id, request.principal);
      return sendPage(request.url, reply, await group.list(request.query as ListQuery, request.principal, groupsOf(id)));
    },
  );
  const membership = (action: 'add' | 'remove') => async (request: { params: unknown; principal: any }, reply: any) => {
    const { id, clientId } = request.params as { id: number; clientId: number };
    await changeMembership(ctx, services, id, clientId, request.principal, action);
    return reply.code(204).send();
  };
  app.put(
    '/client_groups/:id/clients/:clientId',
    { config: write, schema: { tags: ['clients'], summary: 'Add a client to a group (repeatable; publishes client.groups_changed when it changes)', params: MemberParams, response: { 204: Type.Null() } } },
    membership('add'),
  );
  app.delete(
    '/client_groups/:id/clients/:clientId',
    { config: write, schema: { tags: ['clients'], summary: 'Remove a client from a group (404 if not a member)', params: MemberParams, response: { 204: Type.Null() } } },
    membership('remove'),
  );
}
