import { sql } from 'kysely';
import type { Db, DialectName } from '../db/index.js';

/**
 * Runs `fn` while this process is the only one delivering to subscriber `name`, or returns
 * `undefined` at once if another process holds it. Checkpoint writes made through the given
 * connection commit only while the claim is held.
 *
 * PostgreSQL: a transaction-scoped advisory lock, released on commit, rollback or a dropped
 * connection. Not `SELECT … FOR UPDATE`: a row lock gives the delivery transaction an xid for the
 * whole batch, which would hold back the safe id (horizon.ts) for every subscriber in every
 * process. The connection stays checked out while handlers run, hence the bus's concurrency cap.
 *
 * SQLite: one process, and the bus already runs one batch per subscriber at a time. No
 * transaction either: SQLite has one connection, which the handlers need.
 */
export async function withSubscriberClaim<T>(
  db: Db,
  dialect: DialectName,
  name: string,
  fn: (conn: Db) => Promise<T>,
): Promise<T | undefined> {
  if (dialect === 'sqlite') return fn(db);
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ ok: boolean }>`
      select pg_try_advisory_xact_lock(hashtextextended(${`conveyor.events:${name}`}, 0)) as ok`.execute(trx);
    return rows[0]?.ok ? fn(trx) : undefined;
  });
}
