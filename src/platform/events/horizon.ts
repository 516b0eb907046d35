import { sql } from 'kysely';
import type { Db, DialectName } from '../db/index.js';

/**
 * The safe id: every event id at or below it is committed or will never exist. Subscribers read
 * `id > checkpoint AND id <= safe id` in id order, so a checkpoint never jumps over an event that
 * commits later. This file is the only place where the dialects differ on event visibility.
 */
export interface Horizon {
  /** The last computed safe id (never decreases). */
  current(): number;
  /** Recomputes the safe id; concurrent callers share one computation. */
  refresh(): Promise<number>;
  /** Raises the safe id to a value known to be safe, e.g. a durable checkpoint. */
  raise(id: number): void;
}

export function createHorizon(db: Db, dialect: DialectName): Horizon {
  let safe = 0;
  let inflight: Promise<number> | undefined;
  const compute = dialect === 'sqlite' ? sqliteSafeId : postgresSafeId();
  return {
    current: () => safe,
    raise: (id) => {
      safe = Math.max(safe, id);
    },
    refresh() {
      inflight ??= compute(db, safe)
        .then((id) => (safe = Math.max(safe, id)))
        .finally(() => (inflight = undefined));
      return inflight;
    },
  };
}

/** SQLite has one writer at a time, so ids commit in id order: everything visible is safe. */
async function sqliteSafeId(db: Db): Promise<number> {
  const { rows } = await sql<{ hi: number | null }>`select max(id) as hi from events`.execute(db);
  return Number(rows[0]?.hi ?? 0);
}

/**
 * PostgreSQL draws ids before commit, so id 7 can be visible while id 6 is still in flight (or was
 * rolled back and never will be). Filtering on `tx_id < xmin` and ordering by id is not enough: a
 * transaction with a LATER xid can hold an EARLIER id, commit last, and be skipped for good.
 *
 * Instead: ids right after the safe id that are all present (no holes) are committed, hence safe.
 * At a hole, take a mark: read the sequence's last value, then take a fresh xid. Every id up to that
 * value belongs to a transaction whose xid is older than the mark's (the tx_id column default runs
 * before the id is drawn), so once the snapshot xmin passes the mark's xid they have all ended and
 * the holes up to that value are final. Costs one xid per mark, only when there is a hole.
 */
function postgresSafeId() {
  let mark: { seq: number; xid: string } | undefined;
  return async function compute(db: Db, start: number): Promise<number> {
    let safe = start;
    for (let round = 0; round < 3; round++) {
      if (mark && mark.seq <= safe) mark = undefined;
      const { rows } = await sql<{ hi: number | null; n: number }>`
        select max(id) as hi, count(*) as n from events where id > ${safe}`.execute(db);
      const { hi, n } = rows[0]!;
      if (n === 0 || hi === null) return safe;
      if (hi - safe === n) return hi; // contiguous: nothing can still appear below hi
      mark ??= await takeMark(db);
      if (!(await markPassed(db, mark.xid))) return safe;
      safe = Math.max(safe, mark.seq);
      mark = undefined;
    }
    return safe;
  };
}

async function takeMark(db: Db): Promise<{ seq: number; xid: string }> {
  // Two statements, in this order: the sequence value must be read before the xid is assigned.
  const seq = await sql<{ seq: number | null }>`
    select pg_sequence_last_value(pg_get_serial_sequence('events', 'id')::regclass) as seq`.execute(db);
  const xid = await sql<{ xid: string }>`select pg_current_xact_id()::text as xid`.execute(db);
  return { seq: Number(seq.rows[0]?.seq ?? 0), xid: xid.rows[0]!.xid };
}

/** True once every transaction that started before the mark has ended. */
async function markPassed(db: Db, xid: string): Promise<boolean> {
  const { rows } = await sql<{ passed: boolean }>`
    select pg_snapshot_xmin(pg_current_snapshot()) >= ${xid}::xid8 as passed`.execute(db);
  return rows[0]!.passed === true;
}
