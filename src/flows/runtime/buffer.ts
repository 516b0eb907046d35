import { Cron } from 'croner';
import type { Db } from '../../platform/db/index.js';
import type { Flow } from '../definition/flow.js';
import { enqueueSteps, publishRun, type RuntimeDeps } from './deps.js';
import * as store from './store.js';

/**
 * The intake buffer of rate, batch and cron flows: requests wait as `queued` runs (durable, in the
 * order they came) and start when their flow's policy says so. Every decision runs inside the caller's
 * transaction under the flow's intake lock, so several workers never start the same runs twice or
 * over-start a window.
 */

/** Runs started in one transaction at most; a larger backlog continues at once in the next pass. */
const MAX_RELEASE = 1000;
/** Catch-up bound for a cron flow after a long stop: the ticks walked to find the latest one passed. */
const MAX_TICKS = 100_000;

export interface Released {
  /** Ids of the runs started. */
  started: string[];
  /** When this flow's buffer next needs a look (epoch ms); null when nothing waits on time. */
  wakeAt: number | null;
}

export const intakeLock = (flow: Flow) => `flows.intake:${flow.id}`;

/** Whether a new request may start at once rather than wait in the buffer. */
export async function admitsNow(trx: Db, flow: Flow, now: number): Promise<boolean> {
  if (flow.intake.mode === 'immediate') return true;
  if (flow.intake.mode !== 'rate') return false; // batch and cron always go through the buffer
  const { limit = 1, perMs = 1 } = flow.intake;
  return (await store.countStartedSince(trx, flow.id, now - perMs + 1)).n < limit && !(await store.hasQueuedRuns(trx, flow.id));
}

/** Starts whatever the flow's policy lets start now. Call under intakeLock(flow). */
export async function releaseBuffered(deps: RuntimeDeps, trx: Db, flow: Flow, now: number): Promise<Released> {
  switch (flow.intake.mode) {
    case 'rate':
      return releaseRate(deps, trx, flow, now);
    case 'batch':
      return releaseBatch(deps, trx, flow, now);
    case 'cron':
      return releaseCron(deps, trx, flow, now);
    default:
      return { started: [], wakeAt: null };
  }
}

/** At most `limit` starts in any `perMs`: fill the window, then wake when its oldest start leaves it. */
async function releaseRate(deps: RuntimeDeps, trx: Db, flow: Flow, now: number): Promise<Released> {
  const { limit = 1, perMs = 1 } = flow.intake;
  const since = now - perMs + 1;
  const room = limit - (await store.countStartedSince(trx, flow.id, since)).n;
  const started = await startRuns(deps, trx, await store.oldestQueuedRuns(trx, flow.id, Math.min(room, MAX_RELEASE)), now, { intake: 'rate' });
  if (!(await store.hasQueuedRuns(trx, flow.id))) return { started, wakeAt: null };
  const window = await store.countStartedSince(trx, flow.id, since);
  return { started, wakeAt: window.n < limit || window.oldest === null ? now : window.oldest + perMs };
}

/**
 * A batch starts when `size` runs wait (every full batch at once), or when the oldest waiting run has
 * waited `everyMs` (then up to `size` of them, or all without a size).
 */
async function releaseBatch(deps: RuntimeDeps, trx: Db, flow: Flow, now: number): Promise<Released> {
  const { size, everyMs } = flow.intake;
  const waiting = await store.queuedStats(trx, flow.id);
  let take = 0;
  let trigger = '';
  if (size !== undefined && waiting.n >= size) {
    take = Math.floor(waiting.n / size) * size;
    trigger = 'size';
  } else if (everyMs !== undefined && waiting.oldest !== null && now - waiting.oldest >= everyMs) {
    take = size === undefined ? waiting.n : Math.min(waiting.n, size);
    trigger = 'time';
  }
  const runs = await store.oldestQueuedRuns(trx, flow.id, Math.min(take, MAX_RELEASE));
  const started = await startRuns(deps, trx, runs, now, { intake: 'batch', trigger, batchSize: runs.length });
  const left = await store.queuedStats(trx, flow.id);
  if (left.n === 0) return { started, wakeAt: null };
  if (take > MAX_RELEASE || (size !== undefined && left.n >= size)) return { started, wakeAt: now };
  return { started, wakeAt: everyMs !== undefined && left.oldest !== null ? left.oldest + everyMs : null };
}

/** On each tick of the schedule, every run accepted before that tick starts. */
async function releaseCron(deps: RuntimeDeps, trx: Db, flow: Flow, now: number): Promise<Released> {
  const schedule = cronOf(flow);
  const waiting = await store.queuedStats(trx, flow.id);
  if (waiting.oldest === null) return { started: [], wakeAt: null };
  const tick = latestTick(schedule, waiting.oldest, now);
  if (tick === null) return { started: [], wakeAt: nextTick(schedule, waiting.oldest) };
  const runs = await store.oldestQueuedRuns(trx, flow.id, MAX_RELEASE, tick);
  const started = await startRuns(deps, trx, runs, now, { intake: 'cron', tick: new Date(tick).toISOString() });
  const left = await store.queuedStats(trx, flow.id);
  if (left.oldest === null) return { started, wakeAt: null };
  return { started, wakeAt: runs.length === MAX_RELEASE ? now : nextTick(schedule, left.oldest) };
}

export interface BufferOutlook {
  waiting: number;
  oldestAcceptedAt: number | null;
  /** When the policy next lets waiting requests start (epoch ms; `now` when they are due), or null when it waits on requests, not time. */
  nextReleaseAt: number | null;
  /** The same in words, for people. */
  releases: string;
}

/** What a flow's buffer holds and when it next releases, as releaseBuffered would decide it (read only). */
export async function bufferOutlook(db: Db, flow: Flow, now: number): Promise<BufferOutlook> {
  const waiting = await store.queuedStats(db, flow.id);
  const outlook = (nextReleaseAt: number | null, releases: string): BufferOutlook => ({ waiting: waiting.n, oldestAcceptedAt: waiting.oldest, nextReleaseAt, releases });
  if (flow.intake.mode === 'immediate') return outlook(null, 'every request starts at once');
  if (waiting.n === 0 || waiting.oldest === null) return outlook(null, 'nothing is waiting');
  const { limit = 1, perMs = 1, size, everyMs } = flow.intake;
  if (flow.intake.mode === 'rate') {
    const window = await store.countStartedSince(db, flow.id, now - perMs + 1);
    if (window.n < limit || window.oldest === null) return outlook(now, 'due now: the rate window has room');
    return outlook(window.oldest + perMs, `the next start fits the rate window (${limit} per ${perMs} ms) at this time`);
  }
  if (flow.intake.mode === 'batch') {
    if (size !== undefined && waiting.n >= size) return outlook(now, `due now: a batch of ${size} is complete`);
    const more = size === undefined ? '' : `${size - waiting.n} more request(s) complete a batch of ${size}`;
    if (everyMs === undefined) return outlook(null, `waiting for requests: ${more}`);
    const at = waiting.oldest + everyMs;
    return outlook(at, `${more ? `${more}; else ` : ''}the oldest has waited everyMs (${everyMs} ms) at this time`);
  }
  return outlook(nextTick(cronOf(flow), waiting.oldest), `the next tick of "${flow.intake.cron}" (${flow.intake.timezone ?? 'UTC'}) after the oldest was accepted`);
}

async function startRuns(deps: RuntimeDeps, trx: Db, runs: readonly store.RunRow[], now: number, how: Record<string, unknown>): Promise<string[]> {
  const started: string[] = [];
  for (const run of runs) {
    // A buffered run keeps the version it was accepted on.
    const start = (await deps.registry.forRun(run.flow_id, run.version)).start;
    if (!(await store.beginQueuedRun(trx, run.id, start.length, now))) continue;
    await enqueueSteps(deps, trx, run.id, start, 1);
    await publishRun(deps, trx, 'flow.run.started', run, { released: how });
    started.push(run.id);
  }
  return started;
}

const schedules = new Map<string, Cron>();

function cronOf(flow: Flow): Cron {
  const timezone = flow.intake.timezone ?? 'UTC';
  const key = `${flow.intake.cron}|${timezone}`;
  let cron = schedules.get(key);
  if (!cron) {
    cron = new Cron(flow.intake.cron ?? '', { paused: true, timezone });
    schedules.set(key, cron);
  }
  return cron;
}

/** The first tick strictly after `after`; far in the future when the schedule has no more. */
function nextTick(cron: Cron, after: number): number {
  return cron.nextRun(new Date(after))?.getTime() ?? Number.MAX_SAFE_INTEGER;
}

/** The latest tick in (after, now], or null when none has come yet. */
function latestTick(cron: Cron, after: number, now: number): number | null {
  let tick = nextTick(cron, after);
  if (tick > now) return null;
  for (let i = 0; i < MAX_TICKS; i++) {
    const next = nextTick(cron, tick);
    if (next > now) return tick;
    tick = next;
  }
  return now; // after a very long stop, everything accepted until now is due
}
