import Fastify, { LogController, type FastifyReply, type FastifyRequest, type HookHandlerDoneFunction } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Histogram } from 'prom-client';
import { PERMISSIONS } from '../auth/index.js';
import type { HubContext } from '../context.js';
import { AppError } from '../errors/index.js';
import { createAuthHooks } from './auth-hooks.js';
import { errorHandler, sendError } from './errors.js';
import { registerHealthRoutes } from './health.js';
import { registerJsonBodyParser } from './json-body.js';
import type { HubApp } from './types.js';

export type RouteModule = (app: HubApp, ctx: HubContext) => void | Promise<void>;

export interface BuiltApp {
  app: HubApp;
  /** Every route with the permission it declares, for the authorisation tests and docs. */
  routes: { method: string; url: string; permission: string | string[] | undefined; public: boolean }[];
}

export async function buildHttpApp(ctx: HubContext, modules: RouteModule[]): Promise<BuiltApp> {
  const app = Fastify({
    loggerInstance: ctx.log.child({ component: 'http' }),
    // One line per failed request (below) instead of two per request: logs stay readable under load.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is the component logger itself: a pino child per request costs more than the query.
    childLoggerFactory: (logger) => logger,
    bodyLimit: ctx.config.http.bodyLimitBytes,
    // Unknown fields are rejected (not silently dropped); every problem is reported at once.
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true } },
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HubApp;

  const duration = new Histogram({
    name: 'conveyor_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [ctx.metrics],
  });
  const observe = (route: string) => {
    // One labelled child per method and status, found without building a label key per request.
    const children = new Map<string, { observe(v: number): void }>();
    const child = (method: string, status: number) => {
      const key = `${method} ${status}`;
      let found = children.get(key);
      if (!found) children.set(key, (found = duration.labels(method, route, String(status))));
      return found;
    };
    return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      child(request.method, reply.statusCode).observe(reply.elapsedTime / 1000);
    if (reply.statusCode >= 500 || ctx.log.isLevelEnabled('debug')) {
        request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime), user: request.principal?.username }, 'request');
      }
      done();
    };
  };

  // Security and metrics hooks are attached to each route as it is registered (see auth-hooks.ts).
  const auth = createAuthHooks(ctx.auth);
  app.decorateRequest('principal', null);
  const routes: BuiltApp['routes'] = [];
  app.addHook('onRoute', (route) => {
    auth.secure(route);
    route.onResponse = [observe(route.url), ...[route.onResponse ?? []].flat()] as typeof route.onResponse;
    if (route.schema?.hide) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, permission: route.config?.permission, public: route.config?.public === true });
    }
  });

  registerJsonBodyParser(app);
  app.setErrorHandler(errorHandler);
  const observeUnmatched = observe('unmatched');
  // Unknown paths need credentials too: no probing for what exists.
  app.setNotFoundHandler({ preValidation: auth.authenticate }, (request, reply) => {
    sendError(reply, new AppError('ROUTE_NOT_FOUND', `No endpoint ${request.method} ${request.url.split('?')[0]}`));
    observeUnmatched(request, reply, () => undefined);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Conveyor hub API',
        version: '0.1.0',
        description:
          'Customer directory and communications API (compatible with the 003 prototype). Every endpoint except health checks needs HTTP Basic Auth; ' +
          `permissions: ${Object.entries(PERMISSIONS).map(([k, v]) => `\`${k}\` — ${v}`).join('; ')}.`,
      },
      components: { securitySchemes: { basicAuth: { type: 'http', scheme: 'basic' } } },
      security: [{ basicAuth: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/swagger-ui' });
  app.get('/swagger-ui/index.html', { schema: { hide: true } }, (_req, reply) => reply.redirect('/swagger-ui/'));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerHealthRoutes(app, ctx);
  for (const register of modules) await register(app, ctx);
  await app.ready();
  return { app, routes };
}
