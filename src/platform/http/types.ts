import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Permission, Principal } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without credentials (health checks only). */
    public?: boolean;
    /** The caller needs at least one of these. Routes that are neither public nor declare one are refused. */
    permission?: Permission | Permission[];
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type HubApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;
