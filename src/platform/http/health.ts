import { sql } from 'kysely';
import { Type } from 'typebox';
import type { HubContext } from '../context.js';
import { AppError } from '../errors/index.js';
import type { HubApp } from './types.js';

export function registerHealthRoutes(app: HubApp, ctx: HubContext): void {
  const Status = Type.Object({ status: Type.String() });
  app.get('/healthz', { config: { public: true }, schema: { tags: ['health'], summary: 'Liveness', security: [], response: { 200: Status } } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { config: { public: true }, schema: { tags: ['health'], summary: 'Readiness: the database answers', security: [], response: { 200: Status } } },
    async () => {
      try {
        await sql`select 1`.execute(ctx.db);
      } catch {
        throw new AppError('NOT_READY', 'The database does not answer');
      }
      return { status: 'ready' };
    },
  );
  app.get(
    '/metrics',
    { config: { permission: 'stats.view' }, schema: { tags: ['health'], summary: 'Prometheus metrics (text format)' } },
    async (_request, reply) => {
      reply.header('content-type', ctx.metrics.contentType);
      return ctx.metrics.metrics();
    },
  );
}
