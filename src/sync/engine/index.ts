/** The sync engine: per-entity sync state, change detection by payload hash, registration bookkeeping. */
export { syncMigration } from './migration.js';
export { detectChanges, type Built, type DetectDeps, type DetectResult, type DetectSpec } from './detect.js';
export { canonicalJson, payloadHash } from './hash.js';
export * as syncStore from './store.js';
export type { SyncRow, SyncState, HistoryEntry } from './store.js';
