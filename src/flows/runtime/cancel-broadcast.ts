import { sql } from 'kysely';
import type { Database, Db, SqlDialect } from '../../platform/db/index.js';
import type { Logger } from '../../platform/logging/index.js';
import type { RunCancels } from './deps.js';

/**
 * A cancel reaches every process of a hub. On PostgreSQL the cancelling transaction NOTIFYs, so the
 * message goes out only if the cancel commits, and each process LISTENs on a connection of its own and
 * aborts what it runs of that run. SQLite has no such channel, and one hub process (`conveyor worker`
 * refuses it) beside which a command (`conveyor runs cancel`) may cancel: there the hub asks the
 * database every CANCEL_POLL_MS whether a run it is executing was cancelled, and only while it is
 * executing some.
 */
export const CANCEL_POLL_MS = 500;

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

/** How a process hears cancels made by others; close() stops it. */
export interface CancelHearing {
  close(): Promise<void>;
}

/** Hears cancels from any process: LISTEN on PostgreSQL, a poll of the runs executing here on SQLite. */
export async function listenForCancels(o: CancelListenerOptions): Promise<CancelHearing> {
  const heard = (runId: string) => {
    o.cancels.cancel(runId);
    o.onCancelled?.(runId);
  };
  // Which of the runs executing here were cancelled by another process.
  const catchUp = async () => {
    const running = o.cancels.running();
    if (running.length === 0) return;
    const { rows } = await sql<{ id: string }>`select id from flow_runs where state = 'cancelled' and id in (${sql.join(running)})`.execute(o.database.db);
    for (const { id } of rows) if (!o.cancels.isCancelled(id)) heard(id);
  };
  if (!o.database.listen) return pollForCancels(catchUp, o.log);
  const listener = o.database.listen({
    channel: CANCEL_CHANNEL,
    onNotify: heard,
    // Cancels notified while the connection was down were missed.
    onListening: () => void catchUp().catch((err: unknown) => o.log.warn({ err: String(err) }, 'could not check for cancels missed while not listening')),
    onError: (err, retryInMs) => o.log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs }, 'the connection that hears run cancels from other processes failed; reconnecting'),
  });
  await listener.ready;
  return listener;
}

function pollForCancels(check: () => Promise<void>, log: Logger): CancelHearing {
  let checking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    checking = check().catch((err: unknown) => log.warn({ err: String(err) }, 'could not check for runs cancelled by another process'));
  }, CANCEL_POLL_MS);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await checking;
    },
  };
}
