/** Sync: keeps marketing and CRM platforms in step with the hub. Targets: Roistat. */
export { syncMigration } from './engine/index.js';
export { startRoistatSync, registerRoistatRoutes, type RoistatSync } from './targets/roistat/index.js';
export type { ClientDetailsProvider, OrderDetailsProvider, ClientSnapshot, DealSnapshot, ProviderContext } from './targets/roistat/index.js';
