import type { Db } from '../db/index.js';
import { IN_USE_WITHIN_MS, isInUse } from './liveness.js';
import * as store from './store.js';
import { parseTopics, type TopicFilter } from './topics.js';

/**
 * What operators see of subscribers and the changes they may make (the /event-subscribers API and
 * `conveyor events`). The bus runs the changes under the same exclusivity as a delivery round.
 */

/** The event a failing subscriber waits at (payload left out: it may be big). */
export interface EventRef {
  id: number;
  topic: string;
  entityType: string;
  entityId: string;
  createdAt: number;
}

export interface SubscriberStatus {
  name: string;
  /** Its topic filter (`['*']`: all), or null when unknown (see filterOf). */
  topics: string[] | null;
  lastEventId: number;
  /** Matching events after the checkpoint; with topics null, events of every topic. */
  lag: number;
  failures: number;
  lastError: string | null;
  updatedAt: number;
  /** When the next attempt is due (failures > 0), else null. */
  retryAt: number | null;
  /** The event it fails on (failures > 0 and the filter is known), else null. */
  stuckAt: EventRef | null;
  /** When a running process last registered or refreshed it (0: never), and which process. */
  lastSeenAt: number;
  lastSeenBy: string | null;
  /** Seen within IN_USE_WITHIN_MS: a process runs it, so forgetting it needs force. */
  inUse: boolean;
}

/** A subscriber as this process knows it from its own code: its filter (undefined = all topics), and whether its bus delivers it. */
export type LocalSubscriber = { filter: TopicFilter | undefined; registered: boolean };
export type LocalSubscriberOf = (name: string) => LocalSubscriber | undefined;

/**
 * The filter of the process that delivers: this process's when its bus runs the subscriber, else the
 * one stored by the last process that registered it, else this process's code's. Undefined: unknown.
 */
export function filterOf(local: LocalSubscriber | undefined, row: store.ConsumerRecord): { filter: TopicFilter | undefined } | undefined {
  if (local?.registered) return { filter: local.filter };
  if (row.topics) return { filter: parseTopics(row.topics) };
  return local ? { filter: local.filter } : undefined;
}

export async function describeSubscribers(db: Db, localOf: LocalSubscriberOf, backoff: (failures: number) => number, now: number, only?: string): Promise<SubscriberStatus[]> {
  const rows = (await store.readConsumers(db)).filter((r) => only === undefined || r.name === only);
  return Promise.all(
    rows.map(async (row) => {
      const known = filterOf(localOf(row.name), row);
      const stuck = row.failures > 0;
      return {
        name: row.name,
        topics: known ? topicsOf(known.filter) : null,
        lastEventId: row.lastEventId,
        lag: await store.countEventsAfter(db, row.lastEventId, known?.filter),
        failures: row.failures,
        lastError: row.lastError,
        updatedAt: row.updatedAt,
        retryAt: stuck ? row.updatedAt + backoff(row.failures) : null,
        stuckAt: stuck && known ? await firstEventAfter(db, row.lastEventId, known.filter) : null,
        lastSeenAt: row.seenAt,
        lastSeenBy: row.seenBy,
        inUse: isInUse(row.seenAt, now),
      };
    }),
  );
}

/** The first event after the checkpoint that the subscriber takes: the one it waits at when failing. */
export async function firstEventAfter(conn: Db, after: number, filter: TopicFilter | undefined): Promise<EventRef | null> {
  // No horizon bound: the event a subscriber failed on was below the safe id, so nothing can appear before it.
  const [e] = await store.readEvents(conn, { after, upTo: Number.MAX_SAFE_INTEGER, filter, limit: 1 });
  return e ? { id: e.id, topic: e.topic, entityType: e.entityType, entityId: e.entityId, createdAt: e.createdAt } : null;
}

export type SubscriberChange =
  | { kind: 'skipped'; event: EventRef; before: store.ConsumerRow }
  | { kind: 'retrying'; before: store.ConsumerRow }
  | { kind: 'forgotten'; before: store.ConsumerRecord }
  | { kind: 'missing' }
  /** Its filter, so the event it waits at, is unknown: not recorded, and not subscribed in this process. */
  | { kind: 'unknown-filter' }
  /** A process registered it recently (forgetting it needs force). */
  | { kind: 'in-use'; seenAt: number; seenBy: string | null }
  | { kind: 'not-stuck'; lastEventId: number }
  /** Failing, but at another event than the one named (null: no matching event after its checkpoint). */
  | { kind: 'stuck-elsewhere'; stuckAt: EventRef | null }
  /** A delivery round holds it, here or in another process. */
  | { kind: 'busy' };

/** Moves the checkpoint past `eventId` if that is exactly the event the subscriber fails on; the backoff ends. */
export async function skipStuckEvent(conn: Db, name: string, local: LocalSubscriber | undefined, eventId: number, now: number): Promise<SubscriberChange> {
  const row = await store.readConsumer(conn, name);
  if (!row) return { kind: 'missing' };
  const known = filterOf(local, row);
  if (!known) return { kind: 'unknown-filter' };
  if (row.failures === 0) return { kind: 'not-stuck', lastEventId: row.lastEventId };
  const stuckAt = await firstEventAfter(conn, row.lastEventId, known.filter);
  if (stuckAt?.id !== eventId) return { kind: 'stuck-elsewhere', stuckAt };
  const saved = await store.saveConsumer(conn, name, { lastEventId: eventId, updatedAt: now, failures: 0, lastError: null }, row);
  return saved ? { kind: 'skipped', event: stuckAt, before: row } : { kind: 'busy' };
}

/**
 * Ends the backoff wait: failures back to 0 (the backoff starts over if it fails again); the last error
 * stays until the next round replaces or clears it.
 */
export async function endBackoff(conn: Db, name: string, now: number): Promise<SubscriberChange> {
  const row = await store.readConsumer(conn, name);
  if (!row) return { kind: 'missing' };
  if (row.failures === 0) return { kind: 'not-stuck', lastEventId: row.lastEventId };
  const saved = await store.saveConsumer(conn, name, { ...row, updatedAt: now, failures: 0 }, row);
  return saved ? { kind: 'retrying', before: row } : { kind: 'busy' };
}

/**
 * Deletes the checkpoint of a subscriber no process runs any more, so it no longer holds back pruning.
 * Refused while in use unless `force`; then a process that still subscribes it starts it again as new.
 */
export async function forgetSubscriber(conn: Db, name: string, now: number, force: boolean): Promise<SubscriberChange> {
  const row = await store.readConsumer(conn, name);
  if (!row) return { kind: 'missing' };
  if (!force && isInUse(row.seenAt, now)) return { kind: 'in-use', seenAt: row.seenAt, seenBy: row.seenBy };
  // Conditional on still not being seen: a process registering it meanwhile wins.
  if (await store.deleteConsumer(conn, name, force ? undefined : now - IN_USE_WITHIN_MS)) return { kind: 'forgotten', before: row };
  const meanwhile = await store.readConsumer(conn, name);
  return meanwhile ? { kind: 'in-use', seenAt: meanwhile.seenAt, seenBy: meanwhile.seenBy } : { kind: 'missing' };
}

export function topicsOf(filter: TopicFilter | undefined): string[] {
  return filter ? [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)] : ['*'];
}
