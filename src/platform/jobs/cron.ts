import { Cron } from 'croner';
import type { Db } from '../db/index.js';

/**
 * Cron schedules shared by every process. Each process computes fire times on its own (croner, UTC);
 * the database decides who enqueues a tick: a compare-and-set of cron_state.last_fire_at from the
 * value it read to the new fire time, in the same transaction as the enqueue. Exactly one process
 * wins each tick, and a crash can never record a tick without its job (or the reverse).
 */

export interface Schedule {
  name: string;
  task: string;
  payload: unknown;
  cron: Cron;
  /** Local estimate (clock ms) of the next tick, so idle polls skip the database. */
  nextDueAt: number;
}

export type EnqueueInTx = (trx: Db, task: string, payload: unknown, key: string) => Promise<unknown>;

export function createSchedule(name: string, pattern: string, task: string, payload: unknown): Schedule {
  // Throws on a bad pattern, so a typo fails at start-up rather than silently never firing.
  const cron = new Cron(pattern, { timezone: 'UTC', paused: true });
  return { name, task, payload, cron, nextDueAt: 0 };
}

export function nextTick(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}

const WINDOWS_MS = [60_000, 3_600_000, 86_400_000, 31 * 86_400_000, 366 * 86_400_000, Infinity];

/**
 * The latest tick t with after < t <= now, or null. Missed ticks collapse into this one, so a hub
 * that was down for a day fires an hourly schedule once, not 24 times. Growing windows keep the
 * walk short for dense patterns (every second) after long downtime.
 */
export function latestTick(cron: Cron, after: number, now: number): number | null {
  for (const window of WINDOWS_MS) {
    let t = nextTick(cron, Math.max(after, now - window));
    if (t === null || t > now) continue;
    for (let i = 0; i < 100_000; i++) {
      const n = nextTick(cron, t);
      if (n === null || n > now) break;
      t = n;
    }
    return t;
  }
  return null;
}

/** Fires the schedule if a tick is due; returns the fire time when this process enqueued it. */
export async function fireIfDue(db: Db, schedule: Schedule, now: number, enqueue: EnqueueInTx): Promise<number | null> {
  if (now < schedule.nextDueAt) return null;
  const last = await readLastFire(db, schedule.name, now);
  const fireAt = latestTick(schedule.cron, last, now);
  schedule.nextDueAt = nextTick(schedule.cron, fireAt ?? last) ?? Infinity;
  if (fireAt === null) return null;
  const won = await db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('cron_state')
      .set({ last_fire_at: fireAt })
      .where('name', '=', schedule.name)
      .where('last_fire_at', '=', last)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false; // another process fired it (or a later tick)
    await enqueue(trx, schedule.task, schedule.payload, `cron:${schedule.name}:${fireAt}`);
    return true;
  });
  return won ? fireAt : null;
}

/** First sight of a schedule records `now` as its baseline: ticks from before it existed never fire. */
async function readLastFire(db: Db, name: string, now: number): Promise<number> {
  const select = () => db.selectFrom('cron_state').select('last_fire_at').where('name', '=', name).executeTakeFirst();
  let row = await select();
  if (!row) {
    await db.insertInto('cron_state').values({ name, last_fire_at: now }).onConflict((oc) => oc.doNothing()).execute();
    row = await select();
  }
  return Number(row!.last_fire_at);
}
