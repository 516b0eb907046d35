export { createEventBus, type EventBusDeps, type ManagedEventBus } from './bus.js';
export { eventsMigration } from './migration.js';
export type { BatchEventHandler, BatchSubscribeOptions, DomainEvent, EventBus, EventHandler, NewEvent, SubscribeOptions } from './types.js';
export type { EventRef, SubscriberChange, SubscriberStatus } from './operations.js';
