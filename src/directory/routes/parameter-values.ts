import type { HubContext } from '../../platform/context.js';
import type { HubApp } from '../../platform/http/index.js';
import type { DirectoryServices } from '../registry.js';

export function registerParameterValueRoutes(_app: HubApp, _ctx: HubContext, _services: DirectoryServices): void {}
