import { systemClock, type Clock } from '../../src/platform/clock.js';
import { migrateToLatest, openDatabase, type Database, type Db } from '../../src/platform/db/index.js';
import { createEventBus, eventsMigration, eventSubscribersMigration, type EventBusDeps, type ManagedEventBus, type NewEvent } from '../../src/platform/events/index.js';
import { createLogger } from '../../src/platform/logging/index.js';
import { scratchDatabase } from '../support/databases.js';

export const log = createLogger(process.env.LOG_LEVEL ?? 'silent');

export interface EventsFixture {
  database: Database;
  /** Another connection pool on the same database: a second "process". */
  openAnother(): Database;
  bus(options?: Partial<EventBusDeps> & { database?: Database; clock?: Clock }): ManagedEventBus;
  /** Publishes the events in one transaction; commits unless `rollback`. */
  publish(events: NewEvent[], options?: { rollback?: boolean; via?: ManagedEventBus }): Promise<void>;
  close(): Promise<void>;
}

export async function eventsFixture(kind: 'sqlite' | 'postgres'): Promise<EventsFixture> {
  const scratch = await scratchDatabase(kind);
  const database = openDatabase(scratch.url);
  await migrateToLatest(database, [eventsMigration, eventSubscribersMigration]);
  const opened: Database[] = [database];
  const buses: ManagedEventBus[] = [];
  const fixture: EventsFixture = {
    database,
    openAnother() {
      const other = openDatabase(scratch.url);
      opened.push(other);
      return other;
    },
    bus(options = {}) {
      const db = options.database ?? database;
      const bus = createEventBus({ db: db.db, dialect: db.dialect, log, clock: systemClock, pollIntervalMs: 20, retryBaseMs: 10, ...options });
      buses.push(bus);
      return bus;
    },
    async publish(events, options = {}) {
      const via = options.via ?? fixture.bus();
      await database.db
        .transaction()
        .execute(async (trx) => {
          for (const e of events) await via.publish(trx, e);
          if (options.rollback) throw new Rollback();
        })
        .catch((err) => {
          if (!(err instanceof Rollback)) throw err;
        });
    },
    async close() {
      await Promise.allSettled(buses.map((b) => b.stop()));
      for (const d of opened) await d.close();
      await scratch.drop();
    },
  };
  return fixture;
}

class Rollback extends Error {}

export function clientEvent(n: number, topic = 'client.updated'): NewEvent {
  return { topic, entityType: 'client', entityId: n, payload: { n } };
}

/** Polls until `check` holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A transaction held open until `commit()` or `rollback()`; `trx` is usable meanwhile. */
export async function openTransaction(db: Db): Promise<{ trx: Db; commit(): Promise<void>; rollback(): Promise<void> }> {
  let trx!: Db;
  let finish!: (commit: boolean) => void;
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const decision = new Promise<boolean>((r) => (finish = r));
  const done = db
    .transaction()
    .execute(async (t) => {
      trx = t;
      ready();
      if (!(await decision)) throw new Rollback();
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
  await started;
  return {
    trx,
    commit: async () => {
      finish(true);
      await done;
    },
    rollback: async () => {
      finish(false);
      await done;
    },
  };
}

export async function consumerRow(db: Db, name: string) {
  return db.selectFrom('event_consumers').selectAll().where('name', '=', name).executeTakeFirst();
}
