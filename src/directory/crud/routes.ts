import { Type } from 'typebox';
import type { HubApp } from '../../platform/http/index.js';
import { sendPage } from './paging.js';
import type { EntityService, ListQuery } from './service.js';
import { IdParams, inputSchema, itemSchema, listQuerySchema, NameParams } from './schemas.js';

/**
 * The routes of one entity, in both forms: 003's (`/x/add`, `/x/edit/:id`, `/x/delete/:id`) and
 * plain REST (`POST /x`, `PUT|PATCH /x/:id`, `DELETE /x/:id`). Lists are JSON arrays as in 003;
 * paging metadata travels in `X-Total-Count` and `Link` headers.
 */
export function registerEntityRoutes(app: HubApp, service: EntityService): void {
  const def = service.def;
  const item = itemSchema(def);
  const tags = [def.tag];
  const read = { permission: def.permissions.read };
  const write = { permission: def.permissions.write };
  const listSchema = { tags, querystring: listQuerySchema(def), response: { 200: Type.Array(item) } };

  const list = async (request: { query: unknown; principal: any; url: string }, reply: any) =>
    sendPage(request.url, reply, await service.list(request.query as ListQuery, request.principal));

  app.get(def.path, { config: read, schema: { ...listSchema, summary: `List ${def.label.toLowerCase()} records (filters, sort, paging)` } }, list);
  app.get(`${def.path}/search`, { config: read, schema: { ...listSchema, summary: `Search ${def.label.toLowerCase()} records by filter or ?q=` } }, list);
  app.get(
    `${def.path}/name/:name`,
    { config: read, schema: { tags, params: NameParams, summary: `Get a ${def.label.toLowerCase()} by exact ${def.nameFields[0]}`, response: { 200: item } } },
    async (request) => service.getByName((request.params as { name: string }).name, request.principal),
  );
  app.get(
    `${def.path}/:id`,
    { config: read, schema: { tags, params: IdParams, summary: `Get a ${def.label.toLowerCase()} by id`, response: { 200: item } } },
    // Not async: the promise is handed to Fastify as it is, without one more to adopt it.
    (request) => service.get((request.params as { id: number }).id, request.principal),
  );

  const createBody = inputSchema(def, true);
  const create = async (request: { body: unknown; principal: any }) => service.create(request.body as Record<string, unknown>, request.principal);
  app.post(def.path, { config: write, schema: { tags, body: createBody, summary: `Add a ${def.label.toLowerCase()}`, response: { 201: item } } }, async (request, reply) => {
    reply.code(201);
    return create(request);
  });
  app.post(`${def.path}/add`, { config: write, schema: { tags, body: createBody, summary: `Add a ${def.label.toLowerCase()} (003 form)`, response: { 200: item } } }, create);

  const updateBody = inputSchema(def, false);
  const update = async (request: { params: unknown; body: unknown; principal: any }) =>
    service.update((request.params as { id: number }).id, (request.body ?? {}) as Record<string, unknown>, request.principal);
  const updateSchema = (summary: string) => ({ tags, params: IdParams, body: updateBody, summary, response: { 200: item } });
  app.put(`${def.path}/:id`, { config: write, schema: updateSchema(`Change a ${def.label.toLowerCase()} (fields not sent keep their values)`) }, update);
  app.patch(`${def.path}/:id`, { config: write, schema: updateSchema(`Change some fields of a ${def.label.toLowerCase()}`) }, update);
  app.put(`${def.path}/edit/:id`, { config: write, schema: updateSchema(`Change a ${def.label.toLowerCase()} (003 form)`) }, update);

  const remove = async (request: { params: unknown; principal: any }, reply: any) => {
    await service.remove((request.params as { id: number }).id, request.principal);
    return reply.code(204).send();
  };
  const deleteSchema = (summary: string) => ({ tags, params: IdParams, summary, response: { 204: Type.Null() } });
  app.delete(`${def.path}/:id`, { config: write, schema: deleteSchema(`Delete a ${def.label.toLowerCase()}`) }, remove);
  app.delete(`${def.path}/delete/:id`, { config: write, schema: deleteSchema(`Delete a ${def.label.toLowerCase()} (003 form)`) }, remove);
}
