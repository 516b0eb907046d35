/** The Roistat sync target (seed 000): providers, detection, registrars, routes. */
export { startRoistatSync, type RoistatSync } from './plugin.js';
export { registerRoistatRoutes } from './routes.js';
export type { ClientDetailsProvider, OrderDetailsProvider, ClientSnapshot, DealSnapshot, ProviderContext } from './providers.js';
