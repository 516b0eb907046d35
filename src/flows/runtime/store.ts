import { sql, type RawBuilder } from 'kysely';
import { execute, insertIf, rowsInsert, toRaw, type Db } from '../../platform/db/index.js';

/**
 * All SQL on flow_versions, flow_runs and flow_steps. Times are Clock ms passed in, never SQL time functions.
 * The statements every run makes (insert, read, advance and end a run, insert steps) are written out as
 * SQL: building and compiling them with the query builder cost more than the database's own work.
 */

const RUN_COLUMNS = ['id', 'flow_id', 'version', 'state', 'request', 'request_hash', 'idempotency_key', 'replay_of', 'replay_from', 'live_branches', 'last_seq', 'context_bytes', 'created_at', 'started_at'] as const;
const STEP_COLUMNS = ['run_id', 'step_id', 'seq', 'attempt', 'state', 'module', 'input', 'output', 'output_bytes', 'error', 'wake_at', 'started_at', 'finished_at'] as const;

export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'dead';
export const RUN_STATES: readonly RunState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'];
export const ENDED_STATES: readonly RunState[] = ['succeeded', 'failed', 'cancelled', 'dead'];
export type StepState = 'succeeded' | 'failed' | 'retrying' | 'waiting' | 'reused';

export interface RunRow {
  id: string;
  flow_id: string;
  version: number;
  state: RunState;
  request: string;
  /** sha256 of the request's canonical JSON when it came with an Idempotency-Key (a repeat must match it); else ''. */
  request_hash: string;
  idempotency_key: string | null;
  replay_of: string | null;
  replay_from: string | null;
  live_branches: number;
  last_seq: number;
  context_bytes: number;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface StepRow {
  id: number;
  run_id: string;
  step_id: string;
  seq: number;
  attempt: number;
  state: StepState;
  module: string;
  input: string | null;
  output: string | null;
  output_bytes: number;
  error: string | null;
  wake_at: number | null;
  started_at: number;
  finished_at: number | null;
}

/** Numbers come back as numbers on both drivers (BIGINT is parsed in connect.ts); ids of SQLite rows too. */
function num<T>(row: unknown, keys: string[]): T {
  const r = row as Record<string, unknown>;
  for (const k of keys) if (r[k] !== null && r[k] !== undefined) r[k] = Number(r[k]);
  return r as T;
}
const runRow = (r: unknown) => num<RunRow>(r, ['version', 'live_branches', 'last_seq', 'context_bytes', 'created_at', 'started_at', 'finished_at']);
const stepRow = (r: unknown) => num<StepRow>(r, ['id', 'seq', 'attempt', 'output_bytes', 'wake_at', 'started_at', 'finished_at']);

// --- versions

export async function findVersionByHash(db: Db, flowId: string, hash: string): Promise<number | undefined> {
  const row = await db.selectFrom('flow_versions').select('version').where('flow_id', '=', flowId).where('hash', '=', hash).executeTakeFirst();
  return row ? Number(row.version) : undefined;
}

export async function insertNextVersion(db: Db, v: { flowId: string; hash: string; definition: string; source: string; now: number }): Promise<number> {
  const max = await db.selectFrom('flow_versions').select((eb) => eb.fn.max('version').as('v')).where('flow_id', '=', v.flowId).executeTakeFirst();
  const version = Number(max?.v ?? 0) + 1;
  await db
    .insertInto('flow_versions')
    .values({ flow_id: v.flowId, version, hash: v.hash, definition: v.definition, source: v.source, created_at: v.now })
    .execute();
  return version;
}

/** The latest stored version of every flow: what the hubs that ran last registered. */
export async function readLatestVersions(db: Db): Promise<{ flowId: string; version: number; definition: string }[]> {
  const { rows } = await sql<{ flow_id: string; version: number; definition: string }>`select v.flow_id, v.version, v.definition from flow_versions v
    where v.version = (select max(w.version) from flow_versions w where w.flow_id = v.flow_id) order by v.flow_id`.execute(db);
  return rows.map((r) => ({ flowId: String(r.flow_id), version: Number(r.version), definition: String(r.definition) }));
}

export async function readVersionDefinition(db: Db, flowId: string, version: number): Promise<string | undefined> {
  const row = await db.selectFrom('flow_versions').select('definition').where('flow_id', '=', flowId).where('version', '=', version).executeTakeFirst();
  return row?.definition as string | undefined;
}

// --- runs

export type NewRun = Omit<RunRow, 'error' | 'finished_at'>;

const runRows = rowsInsert<NewRun>('flow_runs', RUN_COLUMNS);

export async function insertRun(db: Db, run: NewRun): Promise<void> {
  await execute(db, runRows([run]));
}

// A run written first when it has already ended (or failed) holds its end too.
const WHOLE_RUN_COLUMNS = [...RUN_COLUMNS, 'error', 'finished_at'] as const;
const wholeRunRows = rowsInsert<RunRow>('flow_runs', WHOLE_RUN_COLUMNS);

/** Inserts a run with every column, its end included (a run whose first write records it whole). */
export async function insertWholeRun(db: Db, run: RunRow): Promise<void> {
  await execute(db, wholeRunRows([run]));
}

/** insertWholeRun's rows (PostgreSQL, in a WITH clause): written only where `onlyIf` holds, as one JSON parameter. */
export function wholeRunInsert(runs: readonly RunRow[], onlyIf: RawBuilder<unknown>): RawBuilder<unknown> {
  return insertIf('flow_runs', WHOLE_RUN_COLUMNS, runs, onlyIf);
}

export async function readRun(db: Db, id: string): Promise<RunRow | undefined> {
  const { rows } = await execute(db, sql`select * from flow_runs where id = ${id}`);
  return rows[0] ? runRow(rows[0]) : undefined;
}

export async function findRunByKey(db: Db, flowId: string, key: string): Promise<RunRow | undefined> {
  const row = await db.selectFrom('flow_runs').selectAll().where('flow_id', '=', flowId).where('idempotency_key', '=', key).executeTakeFirst();
  return row ? runRow(row) : undefined;
}

export interface RunFilter {
  flowId?: string;
  state?: RunState;
  before?: string;
  limit: number;
}

/** Queued, running and dead runs by flow (/metrics): few, and found through the (state, finished_at) index. */
export async function unfinishedRunCounts(db: Db): Promise<{ flowId: string; state: RunState; runs: number }[]> {
  const { rows } = await execute<{ flow_id: string; state: RunState; n: number | string }>(
    db,
    sql`select flow_id, state, count(*) as n from flow_runs where state in ('queued', 'running', 'dead') group by flow_id, state`,
  );
  return rows.map((r) => ({ flowId: r.flow_id, state: r.state, runs: Number(r.n) }));
}

/** The latest replay of each of these runs that has one: old run id → its replay's id. */
export async function replaysOf(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('flow_runs').select(['replay_of', 'id']).where('replay_of', 'in', ids).orderBy('id').execute();
  return new Map(rows.map((r) => [r.replay_of!, r.id]));
}

/** Newest first; ids sort by creation time, so `before` (the last id seen) pages without counting. */
export async function listRuns(db: Db, f: RunFilter): Promise<RunRow[]> {
  let q = db.selectFrom('flow_runs').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.flowId) q = q.where('flow_id', '=', f.flowId);
  if (f.state) q = q.where('state', '=', f.state);
  if (f.before) q = q.where('id', '<', f.before);
  return (await q.execute()).map(runRow);
}

/**
 * The one write that moves a live run on: adds to its branch count, hands out `newActivations` seq
 * numbers and counts context bytes — only while it is running. Returns undefined when the run has ended
 * (cancelled, failed by another branch). On PostgreSQL the row lock orders concurrent branches.
 */
export async function advanceRun(db: Db, id: string, change: RunAdvance, ending?: { succeededAt: number; onlyIf: RawBuilder<unknown> }): Promise<Advanced | undefined> {
  const { rows } = await execute(db, runAdvance(id, change, ending?.succeededAt, ending?.onlyIf));
  return rows[0] ? advanced(rows[0]) : undefined;
}

export interface RunAdvance {
  branches: number;
  newActivations: number;
  contextBytes: number;
}
export interface Advanced {
  liveBranches: number;
  lastSeq: number;
  contextBytes: number;
}
export const advanced = (row: { live_branches: unknown; last_seq: unknown; context_bytes: unknown }): Advanced => ({
  liveBranches: Number(row.live_branches),
  lastSeq: Number(row.last_seq),
  contextBytes: Number(row.context_bytes),
});

/**
 * advanceRun's statement. With `succeededAt`, the same write also ends the run as succeeded (its last
 * branch ended); with `onlyIf`, it happens only where that condition holds too.
 */
export function runAdvance(
  id: string,
  change: RunAdvance,
  succeededAt?: number,
  onlyIf?: RawBuilder<unknown>,
): RawBuilder<{ live_branches: number; last_seq: number; context_bytes: number }> {
  const ends = succeededAt === undefined ? sql`` : sql`, state = 'succeeded', finished_at = ${succeededAt}`;
  return sql`
    update flow_runs
       set live_branches = live_branches + ${change.branches}, last_seq = last_seq + ${change.newActivations}, context_bytes = context_bytes + ${change.contextBytes}${ends}
     where id = ${id} and state = 'running'${onlyIf ? sql` and ${onlyIf}` : sql``}
     returning live_branches, last_seq, context_bytes`;
}

/** Ends a run that is still in one of `from`; false when it had ended already. */
export async function endRun(db: Db, id: string, from: RunState[], to: RunState, now: number, error: unknown = null): Promise<boolean> {
  const r = await execute(
    db,
    sql`update flow_runs set state = ${to}, finished_at = ${now}, live_branches = 0, error = ${error === null ? null : JSON.stringify(error)}
     where id = ${id} and state in (${sql.join(from)})`,
  );
  return Number(r.numAffectedRows) === 1;
}

/** A queued (buffered) run begins: `activations` first steps get seq 1..n. */
export async function beginQueuedRun(db: Db, id: string, activations: number, now: number): Promise<boolean> {
  const r = await db
    .updateTable('flow_runs')
    .set({ state: 'running', started_at: now, live_branches: activations, last_seq: activations })
    .where('id', '=', id)
    .where('state', '=', 'queued')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function countStartedSince(db: Db, flowId: string, since: number): Promise<{ n: number; oldest: number | null }> {
  const row = await db
    .selectFrom('flow_runs')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('started_at').as('oldest')])
    .where('flow_id', '=', flowId)
    .where('started_at', '>=', since)
    .executeTakeFirst();
  return { n: Number(row?.n ?? 0), oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
}

/** The oldest queued runs of a flow, in the order they were accepted; `acceptedBefore` narrows to earlier ones. */
export async function oldestQueuedRuns(db: Db, flowId: string, limit: number, acceptedBefore?: number): Promise<RunRow[]> {
  if (limit <= 0) return [];
  let q = db.selectFrom('flow_runs').selectAll().where('flow_id', '=', flowId).where('state', '=', 'queued');
  if (acceptedBefore !== undefined) q = q.where('created_at', '<', acceptedBefore);
  const rows = await q.orderBy('created_at').orderBy('id').limit(limit).execute();
  return rows.map(runRow);
}

/** How many runs of a flow wait in its intake buffer, and when the oldest was accepted. */
export async function queuedStats(db: Db, flowId: string): Promise<{ n: number; oldest: number | null }> {
  const row = await db
    .selectFrom('flow_runs')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('created_at').as('oldest')])
    .where('flow_id', '=', flowId)
    .where('state', '=', 'queued')
    .executeTakeFirst();
  return { n: Number(row?.n ?? 0), oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
}

export async function hasQueuedRuns(db: Db, flowId: string): Promise<boolean> {
  return !!(await db.selectFrom('flow_runs').select('id').where('flow_id', '=', flowId).where('state', '=', 'queued').limit(1).executeTakeFirst());
}

// --- steps

export type NewStep = Omit<StepRow, 'id'>;

export async function insertStep(db: Db, step: NewStep): Promise<void> {
  await insertSteps(db, [step]);
}

const stepRows = rowsInsert<NewStep>('flow_steps', STEP_COLUMNS);

export async function insertSteps(db: Db, steps: NewStep[]): Promise<void> {
  await execute(db, stepRows(steps));
}

/** insertSteps's statement, to embed in a larger one; with `onlyIf` (PostgreSQL only) only where that condition holds. */
export function stepsInsert(steps: NewStep[], onlyIf?: RawBuilder<unknown>): RawBuilder<unknown> {
  if (onlyIf) return insertIf('flow_steps', STEP_COLUMNS, steps, onlyIf);
  return toRaw(stepRows(steps));
}

/** The latest attempt of one activation, if any was recorded. */
export async function lastAttempt(db: Db, runId: string, seq: number): Promise<StepRow | undefined> {
  const row = await db.selectFrom('flow_steps').selectAll().where('run_id', '=', runId).where('seq', '=', seq).orderBy('attempt', 'desc').limit(1).executeTakeFirst();
  return row ? stepRow(row) : undefined;
}

export async function finishWaitingStep(db: Db, id: number, now: number): Promise<boolean> {
  const r = await db.updateTable('flow_steps').set({ state: 'succeeded', finished_at: now }).where('id', '=', id).where('state', '=', 'waiting').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** What the context is made of: the latest finished record of each step (a loop keeps its last output). */
export async function contextRows(db: Db, runId: string): Promise<Pick<StepRow, 'step_id' | 'state' | 'output' | 'error' | 'output_bytes' | 'id'>[]> {
  const latest = db
    .selectFrom('flow_steps')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('run_id', '=', runId)
    .where('state', 'in', ['succeeded', 'reused', 'failed'])
    .groupBy('step_id');
  const rows = await db
    .selectFrom('flow_steps')
    .select(['id', 'step_id', 'state', 'output', 'error', 'output_bytes'])
    .where('id', 'in', latest)
    .orderBy('id')
    .execute();
  return rows.map((r) => num<StepRow>(r, ['id', 'output_bytes']));
}

export async function firstRecordOf(db: Db, runId: string, stepId: string): Promise<number | undefined> {
  const row = await db.selectFrom('flow_steps').select((eb) => eb.fn.min('id').as('id')).where('run_id', '=', runId).where('step_id', '=', stepId).executeTakeFirst();
  return row?.id === null || row?.id === undefined ? undefined : Number(row.id);
}

export async function listSteps(db: Db, runId: string, afterId: number, limit: number): Promise<StepRow[]> {
  const rows = await db.selectFrom('flow_steps').selectAll().where('run_id', '=', runId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map(stepRow);
}

// --- retention

/** Deletes up to `limit` runs that ended before `cutoff`, with their steps; returns how many. */
export async function pruneRuns(db: Db, cutoff: number, limit: number): Promise<number> {
  const ids = (
    await db.selectFrom('flow_runs').select('id').where('state', 'in', ['succeeded', 'failed', 'cancelled', 'dead']).where('finished_at', '<', cutoff).limit(limit).execute()
  ).map((r) => r.id as string);
  if (ids.length === 0) return 0;
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('flow_steps').where('run_id', 'in', ids).execute();
    await trx.deleteFrom('flow_runs').where('id', 'in', ids).execute();
  });
  return ids.length;
}
