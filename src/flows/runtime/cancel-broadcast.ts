import { sql } from 'kysely';
import type { Database, Db, PgListener, SqlDialect } from '../../platform/db/index.js';
import type { Logger } from '../../platform/logging/index.js';
import type { RunCancels } from './deps.js';

/**
 * A cancel reaches every process of a hub on PostgreSQL: the cancelling transaction NOTIFYs, so the
 * message goes out only if the cancel commits, and each process LISTENs on a connection of its own and
 * aborts what it runs of that run. SQLite has one process (`conveyor worker` refuses it): the local
 * abort in intake.cancel() is all there is to do.
 */
export const CANCEL_CHANNEL = 'conveyor_flow_run_cancelled';

/** Inside the cancel's transaction. */
export async function announceCancel(trx: Db, dialect: SqlDialect, runId: string): Promise<void> {
  if (dialect.name === 'postgres') await sql`select pg_notify(${CANCEL_CHANNEL}, ${runId})`.execute(trx);
}

export interface CancelListenerOptions {
  database: Database;
  cancels: RunCancels;
  log: Logger;
  /** Told of each cancel heard (the ?wait callers of this process wake up). */
  onCancelled?(runId: string): void;
}

/** Listens for cancels from any process; undefined where the database has no LISTEN (SQLite). */
export async function listenForCancels(o: CancelListenerOptions): Promise<PgListener | undefined> {
  if (!o.database.listen) return undefined;
  const heard = (runId: string) => {
    o.cancels.cancel(runId);
    o.onCancelled?.(runId);
  };
  // Cancels notified while the connection was down were missed: ask about the runs executing here.
  const catchUp = async () => {
    const running = o.cancels.running();
    if (running.length === 0) return;
    const { rows } = await sql<{ id: string }>`select id from flow_runs where state = 'cancelled' and id in (${sql.join(running)})`.execute(o.database.db);
    for (const { id } of rows) heard(id);
  };
  const listener = o.database.listen({
    channel: CANCEL_CHANNEL,
    onNotify: heard,
    onListening: () => void catchUp().catch((err: unknown) => o.log.warn({ err: String(err) }, 'could not check for cancels missed while not listening')),
    onError: (err, retryInMs) => o.log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs }, 'the connection that hears run cancels from other processes failed; reconnecting'),
  });
  await listener.ready;
  return listener;
}
