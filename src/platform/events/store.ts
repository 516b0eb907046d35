import { sql, type RawBuilder } from 'kysely';
import { insertIf, type Db } from '../db/index.js';
import { topicCondition, type TopicFilter } from './topics.js';
import type { DomainEvent, NewEvent } from './types.js';

// All SQL of the outbox except the dialect-specific visibility (horizon.ts) and claim (claim.ts).

export interface ConsumerRow {
  lastEventId: number;
  updatedAt: number;
  failures: number;
  lastError: string | null;
}

export async function insertEvent(trx: Db, event: NewEvent, now: number): Promise<void> {
  await eventInsert(event, now).execute(trx);
}

/**
 * The insert of one event, to run or to embed in a larger statement (a PostgreSQL WITH clause); with
 * `onlyIf`, PostgreSQL only, it happens only where that condition holds.
 */
export function eventInsert(event: NewEvent, now: number, onlyIf?: RawBuilder<unknown>): RawBuilder<unknown> {
  if (!event.topic || !event.entityType) throw new Error('an event needs a topic and an entityType');
  const row = { topic: event.topic, entity_type: event.entityType, entity_id: String(event.entityId), payload: JSON.stringify(event.payload ?? null), created_at: now };
  if (onlyIf) return insertIf('events', Object.keys(row), [row], onlyIf);
  // Written out: every run and entity change makes events, and building the insert cost more than it.
  return sql`
    insert into events (topic, entity_type, entity_id, payload, created_at)
    values (${row.topic}, ${row.entity_type}, ${row.entity_id}, ${row.payload}, ${now})`;
}

export async function readEvents(
  conn: Db,
  q: { after: number; upTo: number; filter: TopicFilter | undefined; limit: number },
): Promise<DomainEvent[]> {
  let query = conn
    .selectFrom('events')
    .select(['id', 'topic', 'entity_type', 'entity_id', 'payload', 'created_at'])
    .where('id', '>', q.after)
    .where('id', '<=', q.upTo);
  const filter = q.filter;
  if (filter) query = query.where((eb) => topicCondition(eb, filter));
  const rows = await query.orderBy('id').limit(q.limit).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    topic: r.topic,
    entityType: r.entity_type,
    entityId: r.entity_id,
    payload: JSON.parse(r.payload),
    createdAt: Number(r.created_at),
  }));
}

export async function maxEventId(db: Db): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('id').as('hi')).executeTakeFirst();
  return Number(row?.hi ?? 0);
}

export async function countEventsAfter(db: Db, after: number, filter: TopicFilter | undefined): Promise<number> {
  let query = db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('id', '>', after);
  if (filter) query = query.where((eb) => topicCondition(eb, filter));
  const row = await query.executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Creates the checkpoint unless it exists: an existing checkpoint always wins. */
export async function registerConsumer(db: Db, name: string, startAfter: number, now: number): Promise<void> {
  await db
    .insertInto('event_consumers')
    .values({ name, last_event_id: startAfter, updated_at: now, last_error: null, failures: 0 })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

export async function readConsumer(conn: Db, name: string): Promise<ConsumerRow | undefined> {
  const r = await conn
    .selectFrom('event_consumers')
    .select(['last_event_id', 'updated_at', 'failures', 'last_error'])
    .where('name', '=', name)
    .executeTakeFirst();
  if (!r) return undefined;
  return { lastEventId: Number(r.last_event_id), updatedAt: Number(r.updated_at), failures: Number(r.failures), lastError: r.last_error };
}

/**
 * Compare-and-set: writes only if the row still has the checkpoint and failure count read before
 * (`expected`). False when it changed meanwhile: an operator skipped or retried from another process
 * (SQLite; on PostgreSQL both sides hold the subscriber's advisory lock).
 */
export async function saveConsumer(conn: Db, name: string, row: ConsumerRow, expected: ConsumerRow): Promise<boolean> {
  const r = await conn
    .updateTable('event_consumers')
    .set({ last_event_id: row.lastEventId, updated_at: row.updatedAt, failures: row.failures, last_error: row.lastError })
    .where('name', '=', name)
    .where('last_event_id', '=', expected.lastEventId)
    .where('failures', '=', expected.failures)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function readConsumers(db: Db): Promise<(ConsumerRow & { name: string })[]> {
  const rows = await db.selectFrom('event_consumers').select(['name', 'last_event_id', 'updated_at', 'failures', 'last_error']).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, lastEventId: Number(r.last_event_id), updatedAt: Number(r.updated_at), failures: Number(r.failures), lastError: r.last_error }));
}

export async function maxCheckpoint(db: Db): Promise<number> {
  const row = await db.selectFrom('event_consumers').select((eb) => eb.fn.max('last_event_id').as('hi')).executeTakeFirst();
  return Number(row?.hi ?? 0);
}

/** Deletes events older than the cutoff that every known consumer has passed. */
export async function pruneEvents(db: Db, createdBefore: number): Promise<number> {
  const floor = await db.selectFrom('event_consumers').select((eb) => eb.fn.min('last_event_id').as('lo')).executeTakeFirst();
  if (floor?.lo === null || floor?.lo === undefined) return 0; // no consumers yet: keep everything
  const result = await db
    .deleteFrom('events')
    .where('id', '<=', Number(floor.lo))
    .where('created_at', '<', createdBefore)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
