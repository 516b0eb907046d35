import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { can, type Authenticator, type Permission, type Principal } from '../auth/index.js';
import { AppError } from '../errors/index.js';

type Hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/**
 * Basic Auth on every route that is not explicitly public, then the route's declared permission.
 * The hooks are attached per route when it is registered (onRoute), so a request pays no lookup
 * of its route's settings; they are callback-style, so a cached sign-in costs no promise.
 */
export function createAuthHooks(authenticator: Authenticator) {
  const authenticate: Hook = (request, _reply, done) => {
    let result: Principal | Promise<Principal>;
    try {
      const { username, password } = parseBasicAuth(request);
      result = authenticator.authenticate(username, password, request.ip);
    } catch (err) {
      return done(err as Error);
    }
    if (result instanceof Promise) {
      result.then((principal) => {
        request.principal = principal;
        done();
      }, done);
    } else {
      request.principal = result;
      done();
    }
  };

  /** Sign-in and the route's permission in one hook: a request pays one hook call, not two. */
  const authenticateAndAuthorize = (required: Permission | Permission[]): Hook => {
    const list: Permission[] = Array.isArray(required) ? required : [required];
    const refusal = `Your roles do not permit this: it needs the permission ${list.join(' or ')}`;
    const check = (request: FastifyRequest, done: HookHandlerDoneFunction) => {
      if (list.some((p) => can(request.principal!, p))) return done();
      done(new AppError('FORBIDDEN', refusal));
    };
    return (request, reply, done) =>
      authenticate(request, reply, (err?: Error) => {
        if (err) return done(err);
        check(request, done);
      });
  };

  return {
    authenticate,
    /**
     * Adds the hooks to a route being registered. They run on request, before the body is parsed and
     * validated, so a caller without the permission learns nothing about the body schema.
     */
    secure(route: RouteOptions): void {
      if (route.config?.public) return;
      const permission = route.config?.permission;
      const hook = permission ? authenticateAndAuthorize(permission) : authenticate;
      route.onRequest = [hook, ...[route.onRequest ?? []].flat()] as RouteOptions['onRequest'];
    },
  };
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
