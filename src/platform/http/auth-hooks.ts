import type { FastifyRequest } from 'fastify';
import { can, type Authenticator, type Permission } from '../auth/index.js';
import { AppError } from '../errors/index.js';
import type { HubApp } from './types.js';

/** Basic Auth on every route that is not explicitly public; then the route's declared permission. */
export function registerAuthHooks(app: HubApp, authenticator: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public) return;
    const { username, password } = parseBasicAuth(request);
    request.principal = await authenticator.authenticate(username, password, request.ip);
  });
  // Before body validation, so a caller without the permission learns nothing about the body schema.
  app.addHook('preValidation', async (request) => {
    const required = request.routeOptions.config?.permission;
    if (!required || !request.principal) return;
    const list: Permission[] = Array.isArray(required) ? required : [required];
    if (!list.some((p) => can(request.principal!, p))) {
      throw new AppError('FORBIDDEN', `Your roles do not permit this: it needs the permission ${list.join(' or ')}`);
    }
  });
}

function parseBasicAuth(request: FastifyRequest): { username: string; password: string } {
  const header = request.headers.authorization;
  if (!header) throw new AppError('UNAUTHENTICATED');
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Basic <base64 of username:password>"');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new AppError('UNAUTHENTICATED', 'Basic credentials must be "username:password" in base64');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
