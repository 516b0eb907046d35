export { createEventBus, type EventBusDeps, type ManagedEventBus } from './bus.js';
export { eventsMigration } from './migration.js';
export { PRUNE_EVENTS_CRON, PRUNE_EVENTS_TASK, scheduleEventPruning } from './prune-task.js';
export type { PruneOptions } from './retention.js';
export { eventSubscribersMigration } from './subscribers-migration.js';
export { IN_USE_WITHIN_MS, describeAge } from './liveness.js';
export type { BatchEventHandler, BatchSubscribeOptions, DomainEvent, EventBus, EventHandler, NewEvent, SubscribeOptions } from './types.js';
export type { EventRef, SubscriberChange, SubscriberStatus } from './operations.js';
