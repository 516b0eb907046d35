import { openDatabase, migrateToLatest, type Database } from '../../src/platform/db/index.js';
import { createLogger } from '../../src/platform/logging/index.js';
import { createJobQueue, jobsMigration, type JobQueueOptions, type ManagedJobQueue } from '../../src/platform/jobs/index.js';
import type { Clock } from '../../src/platform/clock.js';
import { scratchDatabase, type ScratchDatabase } from '../support/databases.js';

export const log = createLogger(process.env.LOG_LEVEL ?? 'silent');

export interface FakeClock extends Clock {
  set(t: number): void;
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2024, 0, 1)): FakeClock {
  let t = start;
  return { now: () => t, set: (v) => void (t = v), advance: (ms) => void (t += ms) };
}

export const defaultOptions: JobQueueOptions = { concurrency: 4, pollIntervalMs: 50, leaseMs: 30_000, maxAttempts: 3 };

export interface JobsTestContext {
  scratch: ScratchDatabase;
  database: Database;
  clock: FakeClock;
  queue(options?: Partial<JobQueueOptions>, workerId?: string, database?: Database, clock?: Clock): ManagedJobQueue;
  /** Extra connections to the same database (closed at the end). */
  connect(): Database;
}

/** A fresh migrated database for one test, closed and dropped afterwards whatever happens. */
export async function withJobsDb(kind: 'sqlite' | 'postgres', body: (ctx: JobsTestContext) => Promise<void>): Promise<void> {
  const scratch = await scratchDatabase(kind);
  const database = openDatabase(scratch.url);
  const extra: Database[] = [];
  const queues: ManagedJobQueue[] = [];
  try {
    await migrateToLatest(database, [jobsMigration]);
    const clock = fakeClock();
    await body({
      scratch,
      database,
      clock,
      queue(options = {}, workerId, db = database, c = clock) {
        const q = createJobQueue({ db: db.db, dialect: db.dialect, log, clock: c, options: { ...defaultOptions, ...options }, workerId });
        queues.push(q);
        return q;
      },
      connect() {
        const d = openDatabase(scratch.url);
        extra.push(d);
        return d;
      },
    });
  } finally {
    for (const q of queues) await q.stop();
    for (const d of extra) await d.close();
    await database.close();
    await scratch.drop();
  }
}

/** Polls `check` until it returns true; fails (instead of hanging) after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A promise plus its resolver: lets a test hold a handler mid-run. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
