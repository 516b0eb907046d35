import { Counter, type Registry } from 'prom-client';
import type { JobQueue } from '../jobs/index.js';
import type { ManagedEventBus } from './bus.js';

export const PRUNE_EVENTS_TASK = 'events.prune';

/**
 * Hourly, at :07 (off the full hour, where schedules crowd): each run deletes about an hour's worth of
 * events rather than a day's. A cron schedule, so with several processes only one runs each tick.
 */
export const PRUNE_EVENTS_CRON = '7 * * * *';

const DAY_MS = 86_400_000;

export interface EventPruningDeps {
  events: Pick<ManagedEventBus, 'prune'>;
  jobs: JobQueue;
  metrics: Registry;
  /** events.retentionDays: delivered events older than this are deleted; 0 keeps every event. */
  retentionDays: number;
}

/** Defines the pruning task and its schedule on the durable job queue. */
export function scheduleEventPruning(deps: EventPruningDeps): void {
  const pruned = new Counter({
    name: 'conveyor_events_pruned_total',
    help: 'Outbox events deleted by scheduled pruning in this process (delivered to every subscriber and older than events.retentionDays)',
    registers: [deps.metrics],
  });
  // Defined and scheduled even when 0, so a tick queued under an earlier setting is not left to a
  // process that lacks the task (it would be parked as dead).
  deps.jobs.defineTask(PRUNE_EVENTS_TASK, async (_payload, job) => {
    if (deps.retentionDays === 0) return;
    pruned.inc(await deps.events.prune(deps.retentionDays * DAY_MS, { signal: job.signal }));
  });
  deps.jobs.schedule(PRUNE_EVENTS_TASK, PRUNE_EVENTS_CRON, PRUNE_EVENTS_TASK);
}
