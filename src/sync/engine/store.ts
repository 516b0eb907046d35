import { CompiledQuery, sql } from 'kysely';
import { jsonRowsInsertHead, type Db, type SqlDialect } from '../../platform/db/index.js';

/** All SQL on the sync tables. Times come from the Clock as epoch ms. */

export type SyncState = 'pending' | 'registered' | 'error' | 'excluded';
export type HistoryAction = 'detected' | 'registered' | 'error' | 'excluded' | 'forced';

export interface SyncRow {
  target: string;
  kind: string;
  entityId: number;
  remoteId: string | null;
  state: SyncState;
  payload: string | null;
  payloadHash: string | null;
  registeredPayload: string | null;
  registeredHash: string | null;
  dependsOn: number | null;
  statusRef: string | null;
  attempts: number;
  lastErrorCode: string | null;
  lastError: string | null;
  changedAt: number;
  lastAttemptAt: number | null;
  registeredAt: number | null;
  updatedAt: number;
}

export interface HistoryEntry {
  target: string;
  kind: string;
  entityId: number;
  at: number;
  action: HistoryAction;
  payloadHash: string | null;
  errorCode?: string | null;
  error?: string | null;
}

const COLUMNS = {
  target: 'target',
  kind: 'kind',
  entityId: 'entity_id',
  remoteId: 'remote_id',
  state: 'state',
  payload: 'payload',
  payloadHash: 'payload_hash',
  registeredPayload: 'registered_payload',
  registeredHash: 'registered_hash',
  dependsOn: 'depends_on',
  statusRef: 'status_ref',
  attempts: 'attempts',
  lastErrorCode: 'last_error_code',
  lastError: 'last_error',
  changedAt: 'changed_at',
  lastAttemptAt: 'last_attempt_at',
  registeredAt: 'registered_at',
  updatedAt: 'updated_at',
} as const satisfies Record<keyof SyncRow, string>;

const ROW_KEY = ['target', 'kind', 'entity_id'] as const;

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function rowFromDb(r: Record<string, unknown>): SyncRow {
  return {
    target: String(r.target),
    kind: String(r.kind),
    entityId: Number(r.entity_id),
    remoteId: (r.remote_id as string | null) ?? null,
    state: r.state as SyncState,
    payload: (r.payload as string | null) ?? null,
    payloadHash: (r.payload_hash as string | null) ?? null,
    registeredPayload: (r.registered_payload as string | null) ?? null,
    registeredHash: (r.registered_hash as string | null) ?? null,
    dependsOn: num(r.depends_on),
    statusRef: (r.status_ref as string | null) ?? null,
    attempts: Number(r.attempts ?? 0),
    lastErrorCode: (r.last_error_code as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    changedAt: Number(r.changed_at),
    lastAttemptAt: num(r.last_attempt_at),
    registeredAt: num(r.registered_at),
    updatedAt: Number(r.updated_at),
  };
}

/** IN-lists are cut to this size: well under both databases' bound-parameter limits. */
export const CHUNK = 500;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function readRows(db: Db, dialect: SqlDialect, target: string, kind: string, ids: readonly number[]): Promise<Map<number, SyncRow>> {
  const out = new Map<number, SyncRow>();
  for (const part of chunks(ids, dialect.idListChunk)) {
    const rows = await db.selectFrom('sync_entities').selectAll().where('target', '=', target).where('kind', '=', kind).where(dialect.idIn('entity_id', part)).execute();
    for (const r of rows) out.set(Number(r.entity_id), rowFromDb(r));
  }
  return out;
}

export async function readRow(db: Db, dialect: SqlDialect, target: string, kind: string, id: number): Promise<SyncRow | undefined> {
  return (await readRows(db, dialect, target, kind, [id])).get(id);
}

/** What detection needs of a row to decide: its state and hashes, never the payloads themselves. */
export interface DetectState {
  state: SyncState;
  payloadHash: string | null;
  registeredHash: string | null;
  lastErrorCode: string | null;
}

export async function readDetectStates(db: Db, dialect: SqlDialect, target: string, kind: string, ids: readonly number[]): Promise<Map<number, DetectState>> {
  const out = new Map<number, DetectState>();
  for (const part of chunks(ids, dialect.idListChunk)) {
    const rows = await db
      .selectFrom('sync_entities')
      .select(['entity_id', 'state', 'payload_hash', 'registered_hash', 'last_error_code'])
      .where('target', '=', target)
      .where('kind', '=', kind)
      .where(dialect.idIn('entity_id', part))
      .execute();
    for (const r of rows) {
      out.set(Number(r.entity_id), {
        state: r.state as SyncState,
        payloadHash: (r.payload_hash as string | null) ?? null,
        registeredHash: (r.registered_hash as string | null) ?? null,
        lastErrorCode: (r.last_error_code as string | null) ?? null,
      });
    }
  }
  return out;
}

/** A freshly built payload: pending, or registered again when it equals what the remote holds. */
export interface BuiltWrite {
  target: string;
  kind: string;
  entityId: number;
  state: 'pending' | 'registered';
  payload: string;
  payloadHash: string;
  dependsOn: number | null;
  statusRef: string | null;
  at: number;
}

const BUILT_COLUMNS = ['target', 'kind', 'entity_id', 'state', 'payload', 'payload_hash', 'depends_on', 'status_ref', 'changed_at', 'updated_at'] as const;
// Only the columns detection owns: what a registrar wrote meanwhile (remote id, registered payload,
// attempts) stays. A payload back to the registered one clears the last error; a new one keeps it.
const BUILT_UPSERT = upsertClause(ROW_KEY, BUILT_COLUMNS, [
  `last_error_code = CASE WHEN excluded.state = 'registered' THEN NULL ELSE sync_entities.last_error_code END`,
  `last_error = CASE WHEN excluded.state = 'registered' THEN NULL ELSE sync_entities.last_error END`,
]);

export async function writeBuilt(db: Db, dialect: SqlDialect, rows: readonly BuiltWrite[]): Promise<void> {
  const records = rows.map((r) => ({
    target: r.target,
    kind: r.kind,
    entity_id: r.entityId,
    state: r.state,
    payload: r.payload,
    payload_hash: r.payloadHash,
    depends_on: r.dependsOn,
    status_ref: r.statusRef,
    changed_at: r.at,
    updated_at: r.at,
  }));
  await bulkWrite(db, dialect, 'sync_entities', BUILT_COLUMNS, BUILT_UPSERT, records);
}

/** `ON CONFLICT (keys) DO UPDATE SET` with `col = excluded.col` for `columns`, plus `extra` assignments. */
function upsertClause(keys: readonly string[], columns: readonly string[], extra: readonly string[] = []): string {
  const sets = [...columns.filter((c) => !keys.includes(c)).map((c) => `${c} = excluded.${c}`), ...extra];
  return ` ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${sets.join(', ')}`;
}

/**
 * Hand-built multi-row INSERT: detection writes hundreds of rows per call, and building them through
 * the query builder cost more than the database did. The text depends only on the statement and the
 * row count, so it is built once per count (and the connection's statement cache reuses the prepared
 * statement).
 */
function multiRowInsert(dialect: SqlDialect, table: string, columns: readonly string[], tail: string, rowCount: number): string {
  const key = `${dialect.name}|${table}|${columns.length}|${tail}|${rowCount}`;
  let text = bulkSql.get(key);
  if (text) return text;
  let n = 0;
  const tuple = () => `(${columns.map(() => dialect.placeholder(++n)).join(', ')})`;
  text = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rowCount }, tuple).join(', ')}${tail}`;
  bulkSql.set(key, text);
  return text;
}
const bulkSql = new Map<string, string>();

const ROW_COLUMNS = Object.values(COLUMNS);
const HISTORY_COLUMNS = ['target', 'kind', 'entity_id', 'at', 'action', 'payload_hash', 'error_code', 'error'] as const;
// At most 18 and 8 parameters a row: 500 rows stay well under SQLite's 32766 and PostgreSQL's 65535.
const WRITE_CHUNK = 500;

/**
 * PostgreSQL: the rows travel as one JSON array parameter, unpacked by json_populate_recordset with the
 * table's own row type. One parameter whatever the row count (planning 9,000 scalar parameters cost
 * more than the writing), and JSON.stringify is far cheaper than pg's escaping of text arrays.
 */
const jsonInsert = (table: string, columns: readonly string[], tail: string) => `${jsonRowsInsertHead(table, columns)}$1::json)${tail}`;

/** Inserts `records` (objects keyed by column name); `tail` is an ON CONFLICT clause or ''. */
async function bulkWrite(db: Db, dialect: SqlDialect, table: string, columns: readonly string[], tail: string, records: readonly Record<string, unknown>[]): Promise<void> {
  if (records.length === 0) return;
  if (dialect.name === 'postgres') {
    await db.executeQuery(CompiledQuery.raw(jsonInsert(table, columns, tail), [JSON.stringify(records)]));
    return;
  }
  for (const part of chunks(records, WRITE_CHUNK)) {
    const values: unknown[] = [];
    for (const record of part) for (const column of columns) values.push(record[column] ?? null);
    await db.executeQuery(CompiledQuery.raw(multiRowInsert(dialect, table, columns, tail, part.length), values));
  }
}

/** Inserts or replaces whole rows. */
export async function writeRows(db: Db, dialect: SqlDialect, rows: readonly SyncRow[]): Promise<void> {
  const keys = Object.keys(COLUMNS) as (keyof SyncRow)[];
  const records = rows.map((row) => Object.fromEntries(keys.map((k) => [COLUMNS[k], row[k]])));
  await bulkWrite(db, dialect, 'sync_entities', ROW_COLUMNS, upsertClause(ROW_KEY, ROW_COLUMNS), records);
}

export async function writeHistory(db: Db, dialect: SqlDialect, entries: readonly HistoryEntry[]): Promise<void> {
  const records = entries.map((e) => ({
    target: e.target,
    kind: e.kind,
    entity_id: e.entityId,
    at: e.at,
    action: e.action,
    payload_hash: e.payloadHash,
    error_code: e.errorCode ?? null,
    error: e.error ?? null,
  }));
  await bulkWrite(db, dialect, 'sync_history', HISTORY_COLUMNS, '', records);
}

export async function readHistory(db: Db, target: string, kind: string, id: number, limit: number) {
  const rows = await db
    .selectFrom('sync_history')
    .select(['at', 'action', 'payload_hash', 'error_code', 'error'])
    .where('target', '=', target)
    .where('kind', '=', kind)
    .where('entity_id', '=', id)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    at: Number(r.at),
    action: String(r.action),
    payloadHash: (r.payload_hash as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    error: (r.error as string | null) ?? null,
  }));
}

export async function pruneHistory(db: Db, olderThan: number): Promise<number> {
  const r = await db.deleteFrom('sync_history').where('at', '<', olderThan).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Pending rows, oldest change first. `ready` narrows deals to those whose client is registered on the
 * remote (at least once) and whose status is in the registered dictionary.
 */
export async function pendingRows(
  db: Db,
  target: string,
  kind: string,
  limit: number,
  ready?: { dependsOnKind: string; statusRefs: readonly string[] },
): Promise<SyncRow[]> {
  let q = db.selectFrom('sync_entities as s').selectAll('s').where('s.target', '=', target).where('s.kind', '=', kind).where('s.state', '=', 'pending');
  if (ready) {
    // EXISTS rather than a join: the planner walks the pending index in order and probes each row,
    // stopping at `limit`, instead of joining every pending deal first.
    q = q
      .where((eb) =>
        eb.or([
          eb('s.depends_on', 'is', null),
          eb.exists(
            eb
              .selectFrom('sync_entities as d')
              .select('d.entity_id')
              .where('d.target', '=', target)
              .where('d.kind', '=', ready.dependsOnKind)
              .whereRef('d.entity_id', '=', 's.depends_on')
              .where('d.registered_hash', 'is not', null),
          ),
        ]),
      )
      .where((eb) =>
        ready.statusRefs.length > 0 ? eb.or([eb('s.status_ref', 'is', null), eb('s.status_ref', 'in', [...ready.statusRefs])]) : eb('s.status_ref', 'is', null),
      );
  }
  const rows = await q.orderBy('s.changed_at').orderBy('s.entity_id').limit(limit).execute();
  return rows.map(rowFromDb);
}

/** Errored rows whose last attempt is at or before `before`, oldest attempt first. */
export async function dueErrorIds(db: Db, target: string, kind: string, before: number, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('sync_entities')
    .select('entity_id')
    .where('target', '=', target)
    .where('kind', '=', kind)
    .where('state', '=', 'error')
    .where((eb) => eb.or([eb('last_attempt_at', 'is', null), eb('last_attempt_at', '<=', before)]))
    .orderBy('last_attempt_at')
    .orderBy('entity_id')
    .limit(limit)
    .execute();
  return rows.map((r) => Number(r.entity_id));
}

export async function idsInState(db: Db, target: string, kind: string, state: SyncState, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('sync_entities')
    .select('entity_id')
    .where('target', '=', target)
    .where('kind', '=', kind)
    .where('state', '=', state)
    .orderBy('entity_id')
    .limit(limit)
    .execute();
  return rows.map((r) => Number(r.entity_id));
}

/**
 * The remote accepted `hash`. Only a row still holding that payload becomes registered: one that
 * changed meanwhile stays pending with its newer payload (and is sent next round).
 */
export async function markRegistered(db: Db, row: SyncRow, remoteId: string, now: number): Promise<boolean> {
  return stillPendingWith(db, row, {
    state: 'registered',
    remote_id: remoteId,
    registered_payload: row.payload,
    registered_hash: row.payloadHash,
    attempts: 0,
    last_error_code: null,
    last_error: null,
    last_attempt_at: now,
    registered_at: now,
    updated_at: now,
  });
}

/**
 * markRegistered for a whole batch; returns the ids that were still pending with the sent payload.
 * PostgreSQL: one UPDATE … FROM unnest(…) instead of a round trip per row.
 */
export async function markRegisteredMany(db: Db, dialect: SqlDialect, rows: readonly SyncRow[], now: number): Promise<Set<number>> {
  const done = new Set<number>();
  if (rows.length === 0) return done;
  if (dialect.name !== 'postgres') {
    for (const row of rows) if (await markRegistered(db, row, String(row.entityId), now)) done.add(row.entityId);
    return done;
  }
  const { target, kind } = rows[0]!;
  const result = await sql<{ entity_id: string | number }>`
    update sync_entities s
       set state = 'registered', remote_id = u.entity_id::text, registered_payload = s.payload, registered_hash = s.payload_hash,
           attempts = 0, last_error_code = null, last_error = null, last_attempt_at = ${now}, registered_at = ${now}, updated_at = ${now}
      from unnest(${rows.map((r) => r.entityId)}::bigint[], ${rows.map((r) => r.payloadHash)}::text[]) as u(entity_id, hash)
     where s.target = ${target} and s.kind = ${kind} and s.entity_id = u.entity_id and s.payload_hash = u.hash and s.state = 'pending'
    returning s.entity_id`.execute(db);
  for (const r of result.rows) done.add(Number(r.entity_id));
  return done;
}

/** The attempt with `hash` failed; a row whose payload changed meanwhile keeps its newer pending payload. */
export async function markFailed(db: Db, row: SyncRow, code: string, error: string, now: number): Promise<boolean> {
  return stillPendingWith(db, row, { state: 'error', attempts: sql`attempts + 1`, last_error_code: code, last_error: error, last_attempt_at: now, updated_at: now });
}

/** Applies `set` only to the row if it is still pending with the payload that was sent. */
async function stillPendingWith(db: Db, row: SyncRow, set: Record<string, unknown>): Promise<boolean> {
  const r = await db
    .updateTable('sync_entities')
    .set(set)
    .where('target', '=', row.target)
    .where('kind', '=', row.kind)
    .where('entity_id', '=', row.entityId)
    .where('payload_hash', '=', row.payloadHash)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function countByState(db: Db, target: string): Promise<Record<string, Record<SyncState, number>>> {
  const rows = await db
    .selectFrom('sync_entities')
    .select(['kind', 'state', db.fn.countAll().as('n')])
    .where('target', '=', target)
    .groupBy(['kind', 'state'])
    .execute();
  const out: Record<string, Record<SyncState, number>> = {};
  for (const r of rows) {
    const kind = String(r.kind);
    out[kind] ??= { pending: 0, registered: 0, error: 0, excluded: 0 };
    out[kind][r.state as SyncState] = Number(r.n);
  }
  return out;
}

export async function oldestPending(db: Db, target: string, kind: string): Promise<number | null> {
  const r = await db
    .selectFrom('sync_entities')
    .select((eb) => eb.fn.min('changed_at').as('at'))
    .where('target', '=', target)
    .where('kind', '=', kind)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return r?.at === null || r?.at === undefined ? null : Number(r.at);
}

export async function lastErrors(db: Db, target: string, limit: number) {
  const rows = await db
    .selectFrom('sync_entities')
    .select(['kind', 'entity_id', 'attempts', 'last_error_code', 'last_error', 'last_attempt_at'])
    .where('target', '=', target)
    .where('state', '=', 'error')
    .orderBy('last_attempt_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    kind: String(r.kind),
    entityId: Number(r.entity_id),
    attempts: Number(r.attempts),
    code: (r.last_error_code as string | null) ?? null,
    error: (r.last_error as string | null) ?? null,
    at: num(r.last_attempt_at),
  }));
}

// ---- small per-target facts ----

export async function readTargetState<T>(db: Db, target: string, key: string): Promise<T | undefined> {
  const r = await db.selectFrom('sync_target_state').select('value').where('target', '=', target).where('key', '=', key).executeTakeFirst();
  return r ? (JSON.parse(String(r.value)) as T) : undefined;
}

export async function writeTargetState(db: Db, target: string, key: string, value: unknown, now: number): Promise<void> {
  const text = JSON.stringify(value);
  await db
    .insertInto('sync_target_state')
    .values({ target, key, value: text, updated_at: now })
    .onConflict((oc) => oc.columns(['target', 'key']).doUpdateSet({ value: text, updated_at: now }))
    .execute();
}

export async function deleteTargetState(db: Db, target: string, key: string): Promise<boolean> {
  const r = await db.deleteFrom('sync_target_state').where('target', '=', target).where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Registered rows whose last registration is at or after `since`, by id (for the re-send of recent deals). */
export async function recentlyRegistered(db: Db, target: string, kind: string, since: number, afterId: number, limit: number) {
  const rows = await db
    .selectFrom('sync_entities')
    .select(['entity_id', 'registered_payload'])
    .where('target', '=', target)
    .where('kind', '=', kind)
    .where('registered_at', '>=', since)
    .where('registered_payload', 'is not', null)
    .where('entity_id', '>', afterId)
    .orderBy('entity_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ entityId: Number(r.entity_id), payload: String(r.registered_payload) }));
}
