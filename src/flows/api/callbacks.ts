import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { HubApp } from '../../platform/http/index.js';

/** What the route needs of an HTTP transport: completing a call its module answered 202 to. */
export interface CallbackReceiver {
  handleCallback(token: string, rawBody: string, signature: string | undefined): Promise<boolean>;
}

const Params = Type.Object({ module: Type.String({ minLength: 1, maxLength: 200 }), token: Type.String({ minLength: 1, maxLength: 200 }) });

/**
 * POST /flows/callbacks/:module/:token — where an HTTP module that answered 202 delivers the step's
 * outcome later. Authenticated by the module's HMAC signature over the raw body (docs/flows-module-contract.md),
 * not by an employee's password, so the route is public and reads the body unparsed.
 */
export async function registerFlowCallbackRoutes(app: HubApp, receivers: ReadonlyMap<string, CallbackReceiver>): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request: FastifyRequest, body: string | Buffer, done) => done(null, String(body)));
    scope.post(
      '/flows/callbacks/:module/:token',
      {
        config: { public: true },
        schema: {
          tags: ['flows'],
          summary: 'Callback of an HTTP module that answered 202: the step outcome, signed with the module secret',
          security: [],
          params: Params,
          response: { 204: Type.Null(), 404: Type.Object({ error: Type.String(), description: Type.String() }) },
        },
      },
      async (request, reply) => {
        const { module, token } = request.params as { module: string; token: string };
        const receiver = receivers.get(module);
        const signature = request.headers['x-conveyor-signature'];
        const accepted = receiver ? await receiver.handleCallback(token, String(request.body ?? ''), Array.isArray(signature) ? signature[0] : signature) : false;
        if (!accepted) {
          // Unknown module, unknown or used token, late answer or bad signature: the same answer, so nothing leaks.
          return reply.code(404).send({ error: 'NOT_FOUND', description: 'No call is waiting for this callback (unknown, already answered, expired, or badly signed)' });
        }
        return reply.code(204).send(null);
      },
    );
  });
}
