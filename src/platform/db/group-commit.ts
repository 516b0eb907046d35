import { sql } from 'kysely';
import type { Db } from './connect.js';
import type { SqlDialect } from './dialect.js';
import { runDirect, useDirect } from './direct.js';

/**
 * Group commit for SQLite. The hub writes through one SQLite connection, one transaction at a time, and
 * a commit (appending the changed pages to the WAL) costs more than the few statements of a typical
 * transaction. Transactions that arrive while another is being written join one batch: each runs in
 * its own SAVEPOINT, so one that throws is rolled back alone and rejects alone; the batch commits once,
 * and every member resolves only after that commit (what it wrote is durable when its caller goes on).
 *
 * Members run one after another inside the batch, so their work must be database work only (no waits
 * on other I/O), as every transaction on the single connection already has to be, and must not start
 * another grouped transaction (it would wait for a batch that waits for it). On PostgreSQL each
 * transaction stays its own: there a savepoint is a round trip, and connections commit in parallel.
 */
export interface GroupCommit {
  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T>;
}

interface Member {
  work: (trx: Db) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/** Most members in one batch: bounds how long the first of them waits for the commit. */
const MAX_BATCH = 64;

export function createGroupCommit(db: Db, dialect: SqlDialect): GroupCommit {
  if (dialect.name !== 'sqlite') return { transaction: (work) => db.transaction().execute(work) };
  let waiting: Member[] = [];
  let writing = false;

  async function writeBatches(): Promise<void> {
    writing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, MAX_BATCH);
        await writeBatch(batch);
      }
    } finally {
      writing = false;
    }
  }

  async function writeBatch(batch: Member[]): Promise<void> {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      await db.transaction().execute(async (trx) => {
        // The batch holds the connection: its members' hot statements may skip Kysely (direct.ts).
        const direct = useDirect(db, trx);
        const exec = (statement: string) => (direct ? runDirect(direct, statement) : sql.raw(statement).execute(trx));
        for (const member of batch) {
          await exec('savepoint member');
          try {
            const value = await member.work(trx);
            await exec('release savepoint member');
            outcomes.push({ ok: true, value });
          } catch (err) {
            // Undo this member's writes only; the savepoint is then released (it stays open otherwise).
            await exec('rollback to savepoint member');
            await exec('release savepoint member');
            outcomes.push({ ok: false, value: err });
          }
        }
      });
    } catch (err) {
      for (const member of batch) member.reject(err); // the commit failed: nothing of the batch was written
      return;
    }
    batch.forEach((member, i) => (outcomes[i]!.ok ? member.resolve(outcomes[i]!.value) : member.reject(outcomes[i]!.value)));
  }

  return {
    transaction<T>(work: (trx: Db) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
        // The first member waits one turn of the event loop, so that work arriving meanwhile joins it.
        if (!writing && waiting.length === 1) setImmediate(() => void writeBatches());
      });
    },
  };
}
