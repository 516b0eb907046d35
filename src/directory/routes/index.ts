import type { HubContext } from '../../platform/context.js';
import type { HubApp } from '../../platform/http/index.js';
import { registerEntityRoutes } from '../crud/routes.js';
import { createDirectoryServices, ENTITIES } from '../registry.js';
import { registerClientRoutes } from './clients.js';
import { registerPeopleRoutes } from './people.js';
import { registerParameterValueRoutes } from './parameter-values.js';

export async function registerDirectoryRoutes(app: HubApp, ctx: HubContext): Promise<void> {
  const services = createDirectoryServices(ctx);
  // Special routes first so that their static paths are documented next to the entity's.
  registerClientRoutes(app, ctx, services);
  registerPeopleRoutes(app, ctx, services);
  registerParameterValueRoutes(app, ctx, services);
  for (const def of ENTITIES) registerEntityRoutes(app, services[def.name]);
}
