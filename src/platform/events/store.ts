import type { RawBuilder } from 'kysely';
import { execute, insertIf, rowsInsert, toRaw, type Db } from '../db/index.js';
import { topicCondition, type TopicFilter } from './topics.js';
import type { DomainEvent, NewEvent } from './types.js';

// All SQL of the outbox except the dialect-specific visibility (horizon.ts) and claim (claim.ts).

/** A checkpoint's delivery state: what saveConsumer compares and writes. */
export interface ConsumerRow {
  lastEventId: number;
  updatedAt: number;
  failures: number;
  lastError: string | null;
}

/** The whole checkpoint row: delivery state plus what the last registering process recorded. */
export interface ConsumerRecord extends ConsumerRow {
  /** The topic filter as subscribed (['*']: all); null when no process has recorded it yet. */
  topics: string[] | null;
  /** Epoch ms of the last registration or refresh by a running bus (0: never). */
  seenAt: number;
  /** Which process that was (host:pid). */
  seenBy: string | null;
}

/** Who registered a subscriber, and with what filter. */
export interface Registration {
  topics: string[];
  now: number;
  by: string;
}

const CONSUMER_COLUMNS = ['name', 'last_event_id', 'updated_at', 'failures', 'last_error', 'topics', 'seen_at', 'seen_by'] as const;

interface EventRow {
  topic: string;
  entity_type: string;
  entity_id: string;
  payload: string;
  created_at: number;
}
// Written out: every run and entity change makes events, and building the insert cost more than it.
const eventRows = rowsInsert<EventRow>('events', ['topic', 'entity_type', 'entity_id', 'payload', 'created_at']);

/** Several events are one insert, their ids in the order given. */
export async function insertEvent(trx: Db, event: NewEvent | readonly NewEvent[], now: number): Promise<void> {
  await execute(trx, eventRows(rowsOf(event, now)));
}

const rowsOf = (event: NewEvent | readonly NewEvent[], now: number): EventRow[] => (isList(event) ? event.map((e) => eventRow(e, now)) : [eventRow(event, now)]);
const isList = (event: NewEvent | readonly NewEvent[]): event is readonly NewEvent[] => Array.isArray(event);

function eventRow(event: NewEvent, now: number): EventRow {
  if (!event.topic || !event.entityType) throw new Error('an event needs a topic and an entityType');
  return { topic: event.topic, entity_type: event.entityType, entity_id: String(event.entityId), payload: JSON.stringify(event.payload ?? null), created_at: now };
}

/**
 * The insert of one event, to run or to embed in a larger statement (a PostgreSQL WITH clause); with
 * `onlyIf`, PostgreSQL only, it happens only where that condition holds.
 */
export function eventInsert(event: NewEvent | readonly NewEvent[], now: number, onlyIf?: RawBuilder<unknown>): RawBuilder<unknown> {
  const rows = rowsOf(event, now);
  return onlyIf ? insertIf('events', Object.keys(rows[0]!), rows, onlyIf) : toRaw(eventRows(rows));
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

/**
 * Creates the checkpoint unless it exists (an existing checkpoint always wins) and records the
 * subscriber's filter and this process as its last sighting.
 */
export async function registerConsumer(db: Db, name: string, startAfter: number, seen: Registration): Promise<void> {
  const topics = JSON.stringify(seen.topics);
  await db
    .insertInto('event_consumers')
    .values({ name, last_event_id: startAfter, updated_at: seen.now, last_error: null, failures: 0, topics, seen_at: seen.now, seen_by: seen.by })
    .onConflict((oc) => oc.column('name').doUpdateSet({ topics, seen_at: seen.now, seen_by: seen.by }))
    .execute();
}

/** A running bus says its subscribers are still alive; returns how many rows exist to say it on. */
export async function markConsumersSeen(db: Db, names: readonly string[], now: number, by: string): Promise<number> {
  if (names.length === 0) return 0;
  const r = await db.updateTable('event_consumers').set({ seen_at: now, seen_by: by }).where('name', 'in', names).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function readConsumer(conn: Db, name: string): Promise<ConsumerRecord | undefined> {
  const r = await conn.selectFrom('event_consumers').select(CONSUMER_COLUMNS).where('name', '=', name).executeTakeFirst();
  return r ? toRecord(r) : undefined;
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

export async function readConsumers(db: Db): Promise<(ConsumerRecord & { name: string })[]> {
  const rows = await db.selectFrom('event_consumers').select(CONSUMER_COLUMNS).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, ...toRecord(r) }));
}

/** Deletes a checkpoint; with `seenNoLaterThan`, only if no process has registered or refreshed it after that time. */
export async function deleteConsumer(conn: Db, name: string, seenNoLaterThan?: number): Promise<boolean> {
  let query = conn.deleteFrom('event_consumers').where('name', '=', name);
  if (seenNoLaterThan !== undefined) query = query.where('seen_at', '<=', seenNoLaterThan);
  return Number((await query.executeTakeFirst()).numDeletedRows) === 1;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toRecord(r: any): ConsumerRecord {
  return {
    lastEventId: Number(r.last_event_id),
    updatedAt: Number(r.updated_at),
    failures: Number(r.failures),
    lastError: r.last_error,
    topics: r.topics === null ? null : (JSON.parse(r.topics) as string[]),
    seenAt: Number(r.seen_at),
    seenBy: r.seen_by,
  };
}

export async function maxCheckpoint(db: Db): Promise<number> {
  const row = await db.selectFrom('event_consumers').select((eb) => eb.fn.max('last_event_id').as('hi')).executeTakeFirst();
  return Number(row?.hi ?? 0);
}

/**
 * One bounded batch of pruning: deletes up to `limit` events with ids above `afterId` (where the last
 * batch ended) that were created before the cutoff and that every known consumer has passed. Returns the
 * highest id deleted (undefined when none). The floor is read per batch: a subscriber registered from the
 * beginning meanwhile lowers it at once.
 */
export async function pruneEventBatch(db: Db, q: { createdBefore: number; afterId: number; limit: number }): Promise<{ deleted: number; lastId: number | undefined }> {
  const floor = await db.selectFrom('event_consumers').select((eb) => eb.fn.min('last_event_id').as('lo')).executeTakeFirst();
  if (floor?.lo === null || floor?.lo === undefined) return { deleted: 0, lastId: undefined }; // no consumers yet: keep everything
  // Ids at or below a checkpoint are committed or never will be (horizon.ts): none can appear below afterId later, so the cursor misses nothing.
  const rows = await db
    .deleteFrom('events')
    .where(
      'id',
      'in',
      db.selectFrom('events').select('id').where('id', '>', q.afterId).where('id', '<=', Number(floor.lo)).where('created_at', '<', q.createdBefore).orderBy('id').limit(q.limit),
    )
    .returning('id')
    .execute();
  let lastId: number | undefined;
  for (const r of rows) lastId = Math.max(lastId ?? 0, Number(r.id));
  return { deleted: rows.length, lastId };
}

/**
 * Checkpoints not seen since `seenBefore` whose next event was created before `createdBefore`: what
 * keeps old events from pruning for a subscriber nobody runs. Only the first event after each
 * checkpoint is read (ids follow creation time), one index probe per checkpoint.
 */
export async function staleHolders(db: Db, createdBefore: number, seenBefore: number): Promise<(ConsumerRecord & { name: string })[]> {
  const rows = await db
    .selectFrom('event_consumers as c')
    .select(CONSUMER_COLUMNS.map((col) => `c.${col}` as const))
    .where('c.seen_at', '<', seenBefore)
    .where((eb) => eb(eb.selectFrom('events as e').select('e.created_at').whereRef('e.id', '>', 'c.last_event_id').orderBy('e.id').limit(1), '<', createdBefore))
    .orderBy('c.name')
    .execute();
  return rows.map((r) => ({ name: r.name, ...toRecord(r) }));
}
