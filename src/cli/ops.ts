import { Option, type Command } from 'commander';
import type { Config } from '../platform/config/index.js';
import { describeAge, type SubscriberStatus } from '../platform/events/index.js';
import type { JobRecord, JobState } from '../platform/jobs/index.js';
import { actor, cut, iso, positive, table, withHub } from './common.js';

/**
 * `conveyor jobs …` and `conveyor events …`: the operations API's work straight on the database, through
 * the same functions (hub.ops). Refusals throw; main.ts prints them and exits 1.
 */
export function registerOpsCommands(program: Command, config: () => Readonly<Config>): void {
  const jobs = program.command('jobs').description('see, retry and delete durable jobs (dead letters)');
  jobs
    .command('list')
    .description('jobs, newest first, with counts per state')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(['queued', 'running', 'dead']))
    .option('--task <name>', 'only jobs of this task')
    .option('--limit <n>', 'at most this many (1 to 500)', positive('--limit'), 50)
    .option('--before <id>', 'only jobs older than this id (the next page)', positive('--before'))
    .action((o: { state?: JobState; task?: string; limit: number; before?: number }) => {
      if (o.limit > 500) throw new Error(`--limit must be at most 500, not ${o.limit}`);
      return withHub(config(), async ({ ops }) => {
        const list = await ops.jobs.list({ state: o.state, task: o.task, limit: o.limit, before: o.before });
        const c = list.counts;
        console.log(`queued ${c.queued}, running ${c.running}, dead ${c.dead}${o.task ? ` (task ${o.task})` : ''}`);
        console.log(table(['ID', 'STATE', 'TASK', 'ATTEMPTS', 'RUN AT', 'KEY', 'LAST ERROR'], list.jobs.map(jobLine)));
        const filters = `${o.state ? ` --state ${o.state}` : ''}${o.task ? ` --task ${o.task}` : ''} --limit ${o.limit}`;
        if (list.nextBefore !== null) console.log(`more: conveyor jobs list${filters} --before ${list.nextBefore}`);
      });
    });
  jobs
    .command('show <id>')
    .description('one job with its whole payload (JSON)')
    .action((id: string) => {
      const n = jobId(id);
      return withHub(config(), async ({ ops }) => console.log(JSON.stringify(await ops.jobs.get(n), null, 2)));
    });
  jobs
    .command('retry <id>')
    .description('queue a dead job again: attempts from 0, due now, its key restored')
    .action((id: string) => {
      const n = jobId(id);
      return withHub(config(), async ({ ops, ctx }) => {
        const job = await ops.jobs.retry(n, actor());
        console.log(`job ${job.id} (${job.task}) is queued again; a running hub's workers take it within jobs.pollIntervalMs (${ctx.config.jobs.pollIntervalMs} ms)`);
      });
    });
  jobs
    .command('delete <id>')
    .description('delete a dead or queued job (not a running one)')
    .action((id: string) => {
      const n = jobId(id);
      return withHub(config(), async ({ ops }) => {
        await ops.jobs.remove(n, actor());
        console.log(`job ${n} deleted`);
      });
    });

  const events = program.command('events').description('see event subscribers; skip an event a subscriber is stuck at; forget a removed one');
  events
    .command('subscribers')
    .description('every subscriber: checkpoint, lag, failures, next retry, the event it is stuck at, when a process last ran it')
    .action(() =>
      withHub(config(), async ({ ops, ctx }) => {
        const now = ctx.clock.now();
        const rows = (await ops.subscribers.list()).map((s) => [
          s.name,
          s.topics ? s.topics.join(',') : '? (unknown)',
          String(s.lastEventId),
          String(s.lag),
          String(s.failures),
          s.retryAt === null ? '' : iso(s.retryAt),
          s.stuckAt ? `${s.stuckAt.id} (${s.stuckAt.topic}, ${s.stuckAt.entityType} ${s.stuckAt.entityId})` : '',
          seen(s, now),
          cut(s.lastError ?? '', 60),
        ]);
        console.log(table(['NAME', 'TOPICS', 'CHECKPOINT', 'LAG', 'FAILURES', 'RETRY AT', 'STUCK AT', 'LAST SEEN', 'LAST ERROR'], rows));
      }),
    );
  events
    .command('skip <subscriber> <eventId>')
    .description('move a failing subscriber past the one event it is stuck at (name that event: see `events subscribers`)')
    .action((name: string, eventId: string) => {
      const id = positive('the event id')(eventId);
      return withHub(config(), async ({ ops }) => {
        const { skipped } = await ops.subscribers.skip(name, id, actor());
        console.log(`subscriber ${name} skipped event ${skipped.id} (${skipped.topic}, ${skipped.entityType} ${skipped.entityId}); ${RESUME}`);
      });
    });
  events
    .command('retry <subscriber>')
    .description("end a failing subscriber's backoff wait: it tries the event again now")
    .action((name: string) =>
      withHub(config(), async ({ ops }) => {
        await ops.subscribers.retry(name, actor());
        console.log(`subscriber ${name} will try again; ${RESUME}`);
      }),
    );
  events
    .command('forget <subscriber>')
    .description('delete the checkpoint of a subscriber removed from the code, so it stops holding back event pruning')
    .option('--force', 'even though a process registered it within the last 5 minutes (a process that still subscribes it starts it again as new)')
    .action((name: string, o: { force?: boolean }) =>
      withHub(config(), async ({ ops }) => {
        const gone = await ops.subscribers.forget(name, { force: o.force === true }, actor());
        console.log(`subscriber ${name} forgotten (its checkpoint was event ${gone.lastEventId}); the events it held back can now be pruned`);
      }),
    );
}

/** "40 seconds ago (in use)" / "3 days ago": when a running process last registered it. */
function seen(s: SubscriberStatus, now: number): string {
  if (s.lastSeenAt === 0) return 'never';
  return `${describeAge(Math.max(0, now - s.lastSeenAt))} ago${s.inUse ? ' (in use)' : ''}`;
}

// The hub delivering the subscriber re-reads a backing-off subscriber's checkpoint every 5 s (EventBusDeps.recheckMs).
const RESUME = 'a running hub resumes its delivery within 5 seconds';

const jobId = positive('the job id');

function jobLine(j: JobRecord): string[] {
  return [String(j.id), j.state, j.task, `${j.attempts}/${j.maxAttempts}`, iso(j.runAt), j.key ?? '', cut(j.lastError ?? '', 60)];
}
