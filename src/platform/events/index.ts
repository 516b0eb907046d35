export { createEventBus, type EventBusDeps, type ManagedEventBus } from './bus.js';
export { eventsMigration } from './migration.js';
export type { DomainEvent, EventBus, EventHandler, NewEvent, SubscribeOptions } from './types.js';
