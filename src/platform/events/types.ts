import type { RawBuilder } from 'kysely';
import type { Db } from '../db/index.js';

/** A fact about the customer base, written in the same transaction as the change (outbox). */
export interface NewEvent {
  /** `<entity>.<verb>`, e.g. `client.created`, `client.updated`, `client.deleted`. */
  topic: string;
  entityType: string;
  entityId: string | number;
  payload: unknown;
}

export interface DomainEvent {
  id: number;
  topic: string;
  entityType: string;
  entityId: string;
  payload: unknown;
  createdAt: number;
}

export type EventHandler = (event: DomainEvent) => Promise<void>;
/** Gets up to `batchSize` events at once; they count as handled only when it resolves. */
export type BatchEventHandler = (events: DomainEvent[]) => Promise<void>;

export interface SubscribeOptions {
  /** Topic names or prefixes ending in `*` (`client.*`); all topics when omitted. */
  topics?: string[];
  /** Start from events written after the subscriber first registers (default) or from the first event. */
  fromBeginning?: boolean;
}

export interface BatchSubscribeOptions extends SubscribeOptions {
  /** Most events per call (default: the bus's batch size). */
  batchSize?: number;
}

export interface EventBus {
  /**
   * Writes the event inside the caller's transaction; it is delivered only once that commits.
   * Call poke() after the commit to have it delivered without waiting for the next poll. Several
   * events are written by one statement, in the order given.
   */
  publish(trx: Db, event: NewEvent | readonly NewEvent[]): Promise<void>;
  /**
   * The statement publish() runs, to embed in a larger one (a PostgreSQL WITH clause) that commits it;
   * with `onlyIf` (PostgreSQL only) the event is written only where that condition holds.
   */
  publishStatement(event: NewEvent | readonly NewEvent[], onlyIf?: RawBuilder<unknown>): RawBuilder<unknown>;
  /**
   * At-least-once, in event order (so in order per entity). The name is the durable checkpoint,
   * created by the next start() (or drain()). A handler that throws is retried with backoff and
   * the subscriber waits at that event meanwhile.
   */
  subscribe(name: string, handler: EventHandler, options?: SubscribeOptions): void;
  /**
   * Like subscribe, but the handler gets the events of a round together, so it can load and write in
   * bulk. If it throws, the whole batch is offered again later (handlers must be idempotent anyway).
   */
  subscribeBatch(name: string, handler: BatchEventHandler, options?: BatchSubscribeOptions): void;
  /** Tells the dispatcher new events may be committed (saves waiting for the next poll). */
  poke(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}
