export { buildHttpApp, type RouteModule, type BuiltApp } from './server.js';
export type { HubApp } from './types.js';
export { parseJsonBody } from './json-body.js';
