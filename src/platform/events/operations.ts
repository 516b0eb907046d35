import type { Db } from '../db/index.js';
import * as store from './store.js';
import type { TopicFilter } from './topics.js';

/**
 * What operators see of subscribers and the two changes they may make (the /event-subscribers API and
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
  /** Its topic filter (`['*']`: all), or null when no subscriber of that name is registered in this process. */
  topics: string[] | null;
  lastEventId: number;
  /** Matching events after the checkpoint; with topics null, events of every topic (the filter is unknown here). */
  lag: number;
  failures: number;
  lastError: string | null;
  updatedAt: number;
  /** When the next attempt is due (failures > 0), else null. */
  retryAt: number | null;
  /** The event it fails on (failures > 0 and the filter is known), else null. */
  stuckAt: EventRef | null;
}

/** Where a subscriber is registered in this process: its filter (undefined = all topics). */
export type FilterOf = (name: string) => { filter: TopicFilter | undefined } | undefined;

export async function describeSubscribers(db: Db, filterOf: FilterOf, backoff: (failures: number) => number, only?: string): Promise<SubscriberStatus[]> {
  const rows = (await store.readConsumers(db)).filter((r) => only === undefined || r.name === only);
  return Promise.all(
    rows.map(async (row) => {
      const known = filterOf(row.name);
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
  | { kind: 'missing' }
  /** No subscriber of that name in this process: its filter, so the event it waits at, is unknown. */
  | { kind: 'unknown-filter' }
  | { kind: 'not-stuck'; lastEventId: number }
  /** Failing, but at another event than the one named (null: no matching event after its checkpoint). */
  | { kind: 'stuck-elsewhere'; stuckAt: EventRef | null }
  /** A delivery round holds it, here or in another process. */
  | { kind: 'busy' };

/** Moves the checkpoint past `eventId` if that is exactly the event the subscriber fails on; the backoff ends. */
export async function skipStuckEvent(conn: Db, name: string, filter: TopicFilter | undefined, eventId: number, now: number): Promise<SubscriberChange> {
  const row = await store.readConsumer(conn, name);
  if (!row) return { kind: 'missing' };
  if (row.failures === 0) return { kind: 'not-stuck', lastEventId: row.lastEventId };
  const stuckAt = await firstEventAfter(conn, row.lastEventId, filter);
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

function topicsOf(filter: TopicFilter | undefined): string[] {
  return filter ? [...filter.exact, ...filter.prefixes.map((p) => `${p}*`)] : ['*'];
}
