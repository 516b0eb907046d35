import { hostname } from 'node:os';
import type { RawBuilder } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { Db, SqlDialect } from '../db/index.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logging/index.js';
import type { ClaimedJob, EnqueueOptions, JobInfo, JobInsertStatement, JobQueue, TaskCompleted, TaskHandler, TaskOptions, TaskRepeat } from './types.js';
import { retryDelayMs } from './backoff.js';
import { createSchedule, fireIfDue, type Schedule } from './cron.js';
import {
  buryJob,
  claimJobs,
  completeJob,
  countJobs,
  extendLeases,
  findLiveJobId,
  hastenJob,
  claimedJobInsert,
  insertClaimedJob,
  jobCompletion,
  jobRow,
  unclaimJob,
  insertJob,
  repeatJob,
  retryJob,
  type Claim,
  type JobRow,
  type JobState,
} from './store.js';

export interface JobQueueOptions {
  /** Handlers running at once in this process. */
  concurrency: number;
  /** Idle wait between polls; an enqueue in this process (or nudge()) wakes the loop earlier. */
  pollIntervalMs: number;
  /** How long a claim is exclusive. Running jobs renew it every leaseMs/3; a dead worker's jobs are re-claimed after it. */
  leaseMs: number;
  /** Default for jobs whose task and enqueue call name none. */
  maxAttempts: number;
  /** Backoff base and cap (defaults 1 s and 1 h). */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** How long stop() waits for running handlers (default 10 s); leftovers are re-claimed after their lease. */
  stopTimeoutMs?: number;
}

export interface JobQueueDeps {
  db: Db;
  dialect: SqlDialect;
  log: Logger;
  clock: Clock;
  options: JobQueueOptions;
  /** Name written to locked_by; unique per process (default host:pid:random). */
  workerId?: string;
}

export interface ManagedJobQueue extends JobQueue {
  /** One poll-loop iteration without the loop: fire due cron ticks, then claim and run one batch. Returns jobs run. */
  runOnce(): Promise<number>;
  /** Enqueues due cron ticks this process wins; returns how many. */
  fireSchedules(): Promise<number>;
  /** Jobs per state, for metrics and readiness. */
  counts(): Promise<Record<JobState, number>>;
  /** Wakes the poll loop, e.g. right after committing a transaction that enqueued work. */
  nudge(): void;
  /** The options a task was defined with in this process (undefined for a task it does not define). */
  taskOptions(task: string): TaskOptions | undefined;
  readonly workerId: string;
}

interface TaskDef {
  handler: TaskHandler;
  options: TaskOptions;
}

const MAX_ERROR_CHARS = 4000;
const MAX_CLAIMED_FOR_CALLERS = 10_000;

export function createJobQueue(deps: JobQueueDeps): ManagedJobQueue {
  const { db, dialect, clock, options } = deps;
  const workerId = deps.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log = deps.log.child({ component: 'jobs', workerId });
  const tasks = new Map<string, TaskDef>();
  const schedules = new Map<string, Schedule>();
  // Keyed by id and attempt: after a lost lease this process may legitimately hold a newer claim of the same job.
  // A slot's id changes when its handler hands on a claimed next job (the heartbeat renews that one).
  const active = new Map<string, { id: number; done: Promise<void> }>();

  let running = false;
  let stopping = new AbortController();
  let loopDone: Promise<void> = Promise.resolve();
  let heartbeat: NodeJS.Timeout | undefined;
  // When the last claim filled every free slot there may be more due work: a finishing job wakes the loop.
  let mayHaveMore = false;
  let wake: (() => void) | null = null;
  let woken = false;

  function nudge(): void {
    woken = true;
    wake?.();
  }

  function sleep(ms: number): Promise<void> {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = null;
        woken = false;
        resolve();
      }
      wake = done;
    });
  }

  function newJob(task: string, payload: unknown, opts: EnqueueOptions, now: number) {
    return {
      task,
      payload: JSON.stringify(payload ?? null),
      key: opts.key ?? null,
      runAt: opts.runAt ?? now + (opts.delayMs ?? 0),
      priority: opts.priority ?? 0,
      maxAttempts: opts.maxAttempts ?? tasks.get(task)?.options.maxAttempts ?? options.maxAttempts,
      now,
    };
  }

  async function enqueue(trx: Db, task: string, payload: unknown, opts: EnqueueOptions = {}) {
    const now = clock.now();
    const key = opts.key ?? null;
    const id = await insertJob(trx, newJob(task, payload, opts, now));
    // Outside a transaction the row is committed already; inside one the caller may nudge() after commit.
    if (id !== null && !trx.isTransaction) nudge();
    if (id !== null) return { id, enqueued: true };
    return { id: key === null ? null : await findLiveJobId(trx, key), enqueued: false };
  }

  async function fireSchedules(): Promise<number> {
    let fired = 0;
    for (const s of schedules.values()) {
      const at = await fireIfDue(db, s, clock.now(), (trx, task, payload, key) => enqueue(trx, task, payload, { key }));
      if (at !== null) {
        fired++;
        log.info({ schedule: s.name, task: s.task, fireAt: new Date(at).toISOString() }, 'cron tick enqueued');
      }
    }
    return fired;
  }

  /** Claims up to the free slots and starts each job; resolves once all are started. */
  async function claimBatch(): Promise<Promise<void>[]> {
    const free = options.concurrency - active.size;
    if (free <= 0) return [];
    const jobs = await claimJobs(db, dialect, workerId, clock.now(), options.leaseMs, free);
    mayHaveMore = jobs.length === free;
    return jobs.map(startSlot);
  }

  /** Runs a claimed job (and what it hands on) in a slot of its own; resolves when the slot is free again. */
  function startSlot(job: JobRow): Promise<void> {
    const slot = `${job.id}/${job.attempts}`;
    const entry = { id: job.id, done: Promise.resolve() };
    entry.done = runChain(job, entry).finally(() => {
      active.delete(slot);
      const waiting = running ? startable.shift() : undefined;
      if (waiting) startSlot(waiting);
      else if (mayHaveMore) nudge();
    });
    active.set(slot, entry);
    return entry.done;
  }

  /** A new job already claimed by this worker, leased from now; null when a live job holds its key. */
  function insertClaimed(trx: Db, task: string, payload: unknown, opts: EnqueueOptions): Promise<JobRow | null> {
    const now = clock.now();
    return insertClaimedJob(trx, newJob(task, payload, opts, now), workerId, now + options.leaseMs);
  }

  // Jobs enqueued claimed for a caller to start after its commit (enqueueClaimed → runClaimed).
  const claimedForCaller = new Map<number, JobRow>();
  function keepForCaller(row: JobRow | null): ClaimedJob | null {
    if (!row) return null;
    // A caller whose transaction rolled back never starts its job: keep the map bounded all the same.
    if (claimedForCaller.size >= MAX_CLAIMED_FOR_CALLERS) claimedForCaller.delete(claimedForCaller.keys().next().value!);
    claimedForCaller.set(row.id, row);
    return { claimedJobId: row.id };
  }
  async function enqueueClaimed(trx: Db, task: string, payload: unknown, opts: EnqueueOptions = {}): Promise<ClaimedJob | null> {
    if (!running) {
      await enqueue(trx, task, payload, opts);
      return null;
    }
    return keepForCaller(await insertClaimed(trx, task, payload, opts));
  }

  /** An insert of a job claimed by this worker (or queued, when `claim` is false) to embed in a caller's statement. */
  function claimedInsertStatement(task: string, payload: unknown, opts: EnqueueOptions, claim: boolean, adopt: (row: JobRow) => ClaimedJob | null, onlyIf?: RawBuilder<unknown>): JobInsertStatement {
    const now = clock.now();
    return {
      sql: claimedJobInsert(newJob(task, payload, opts, now), claim ? workerId : null, now + options.leaseMs, onlyIf),
      adopt: (row) => (row && claim ? adopt(jobRow(row as JobRow)) : null),
    };
  }

  // Claimed jobs a caller started while every slot was busy: they take the next free slot, before any
  // claim from the queue (their leases are renewed meanwhile, so no other worker takes them).
  const startable: JobRow[] = [];
  function runClaimed(claimed: ClaimedJob): void {
    const job = claimedForCaller.get(claimed.claimedJobId);
    if (!job) return;
    claimedForCaller.delete(job.id);
    if (!running) return void giveBack([job]); // stopping: any worker claims it from the queue
    if (active.size < options.concurrency) return void startSlot(job);
    startable.push(job);
  }

  function giveBack(jobs: JobRow[]): Promise<unknown[]> {
    return Promise.all(
      jobs.map((job) =>
        unclaimJob(db, { id: job.id, workerId, attempt: job.attempts }, clock.now())
          .then(() => nudge())
          .catch((err: unknown) => log.warn({ jobId: job.id, err: errorText(err) }, 'could not give a claimed job back; it runs after its lease')),
      ),
    );
  }

  /** Runs a claimed job, then each claimed job its handler hands on, in the same slot. */
  async function runChain(first: JobRow, slot: { id: number }): Promise<void> {
    let job: JobRow | undefined = first;
    while (job) {
      slot.id = job.id;
      const next: JobRow | undefined = await execute(job);
      if (next && stopping.signal.aborted) {
        // Stopping: give it back to the queue rather than start it (or leave it to its lease).
        await unclaimJob(db, { id: next.id, workerId, attempt: next.attempts }, clock.now()).catch(() => false);
        return;
      }
      job = next;
    }
  }

  async function execute(job: JobRow): Promise<JobRow | undefined> {
    const claim: Claim = { id: job.id, workerId, attempt: job.attempts };
    const meta = { jobId: job.id, task: job.task, attempt: job.attempts, maxAttempts: job.max_attempts };
    const def = tasks.get(job.task);
    const handedOn = new Map<number, JobRow>();
    const handOn = (row: JobRow): ClaimedJob => {
      handedOn.set(row.id, row);
      return { claimedJobId: row.id };
    };
    try {
      if (!def) {
        await buryJob(db, claim, `unknown task "${job.task}": no handler is defined for it in worker ${workerId}`, clock.now());
        log.error(meta, 'job dead: unknown task');
        return undefined;
      }
      const info: JobInfo = {
        id: job.id,
        task: job.task,
        key: job.job_key,
        attempt: job.attempts,
        maxAttempts: job.max_attempts,
        signal: stopping.signal,
        completeIn: (trx) => completeJob(trx, claim),
        async enqueueNext(trx, task, payload, opts = {}) {
          const row = await insertClaimed(trx, task, payload, opts);
          return row ? handOn(row) : null;
        },
        completionStatement: (onlyIf) => jobCompletion(claim, true, onlyIf),
        nextStatement: (task, payload, opts = {}, onlyIf) => claimedInsertStatement(task, payload, opts, true, handOn, onlyIf),
      };
      const started = Date.now();
      log.debug(meta, 'job started');
      let outcome: void | TaskRepeat | TaskCompleted;
      try {
        outcome = await withTimeout(() => def.handler(JSON.parse(job.payload), info), def.options.timeoutMs);
      } catch (err) {
        await fail(job, claim, meta, err);
        return undefined;
      }
      if (outcome && 'completedInTransaction' in outcome) {
        log.debug({ ...meta, ms: Date.now() - started }, 'job done');
        return outcome.next ? handedOn.get(outcome.next.claimedJobId) : undefined;
      }
      const repeatAfterMs = outcome && Number.isFinite(outcome.repeatAfterMs) ? Math.max(0, outcome.repeatAfterMs) : undefined;
      const stillOurs =
        repeatAfterMs === undefined ? await completeJob(db, claim) : await repeatJob(db, claim, clock.now() + repeatAfterMs, clock.now());
      if (stillOurs) log.debug({ ...meta, ms: Date.now() - started }, 'job done');
      else log.warn(meta, 'job finished after its lease was lost; another worker owns it now');
    } catch (err) {
      // Database trouble while recording the outcome: the lease expires and the job runs again.
      log.error({ ...meta, err: errorText(err) }, 'could not record job outcome');
    }
    return undefined;
  }

  async function fail(job: JobRow, claim: Claim, meta: object, err: unknown): Promise<void> {
    const error = errorText(err);
    const now = clock.now();
    if (job.attempts >= job.max_attempts) {
      if (await buryJob(db, claim, error, now)) log.error({ ...meta, err: error }, 'job dead: out of attempts');
      else log.warn({ ...meta, err: error }, 'job failed after its lease was lost; another worker owns it now');
      return;
    }
    const delay = retryDelayMs(job.attempts, options.retryBaseMs, options.retryCapMs);
    if (await retryJob(db, claim, now + delay, error, now)) log.warn({ ...meta, err: error, retryInMs: delay }, 'job failed, will retry');
    else log.warn({ ...meta, err: error }, 'job failed after its lease was lost; another worker owns it now');
  }

  async function loop(): Promise<void> {
    while (running) {
      let failed = false;
      // Separate guards: a failing schedule must not stop job processing, nor the reverse.
      try {
        await fireSchedules();
      } catch (err) {
        log.error({ err: errorText(err) }, 'cron check failed');
      }
      try {
        await claimBatch();
      } catch (err) {
        failed = true;
        log.error({ err: errorText(err) }, 'job claim failed');
      }
      if (!running) break;
      // Claiming more right away is pointless when slots are full (a finishing job wakes us) or
      // when the last claim came back short (nothing else due until the next poll or nudge).
      if (!failed && mayHaveMore && active.size < options.concurrency) continue;
      await sleep(Math.min(options.pollIntervalMs, msUntilNextTick()));
    }
  }

  function msUntilNextTick(): number {
    let next = Infinity;
    for (const s of schedules.values()) next = Math.min(next, s.nextDueAt);
    return Math.max(0, next - clock.now());
  }

  function startHeartbeat(): void {
    const every = Math.max(50, Math.floor(options.leaseMs / 3));
    heartbeat = setInterval(() => {
      const ids = [...new Set([...active.values()].map((a) => a.id)), ...startable.map((j) => j.id)];
      if (ids.length === 0) return;
      extendLeases(db, workerId, ids, clock.now() + options.leaseMs).catch((err) =>
        log.warn({ err: errorText(err) }, 'lease heartbeat failed'),
      );
    }, every);
    heartbeat.unref();
  }

  return {
    workerId,
    taskOptions: (task) => tasks.get(task)?.options,
    defineTask(name, handler, taskOptions = {}) {
      if (tasks.has(name)) throw new Error(`job task "${name}" is defined twice`);
      tasks.set(name, { handler, options: taskOptions });
    },
    enqueue,
    enqueueClaimed,
    claimedStatement: (task, payload, opts = {}) => claimedInsertStatement(task, payload, opts, running, keepForCaller),
    runClaimed,
    isRunning: () => running,
    hasten: hastenJob,
    schedule(name, cron, task, payload) {
      if (schedules.has(name)) throw new Error(`job schedule "${name}" is defined twice`);
      schedules.set(name, createSchedule(name, cron, task, payload));
    },
    async start() {
      if (running) return;
      running = true;
      if (stopping.signal.aborted) stopping = new AbortController();
      startHeartbeat();
      loopDone = loop();
      log.info({ concurrency: options.concurrency, tasks: [...tasks.keys()], schedules: [...schedules.keys()] }, 'job workers started');
    },
    async stop() {
      if (!running) return;
      running = false;
      stopping.abort();
      await giveBack(startable.splice(0));
      nudge();
      await loopDone;
      const bound = options.stopTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.allSettled([...active.values()].map((a) => a.done)).then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), bound))),
      ]);
      clearTimeout(timer);
      clearInterval(heartbeat);
      woken = false;
      if (timedOut) log.warn({ stillRunning: active.size }, 'job workers stopped with handlers still running; their jobs will be re-claimed');
      else log.info('job workers stopped');
    },
    async runOnce() {
      await fireSchedules();
      const started = await claimBatch();
      await Promise.allSettled(started);
      return started.length;
    },
    fireSchedules,
    counts: () => countJobs(db),
    nudge,
  };
}

/** A handler past its timeout counts as failed. It cannot be cancelled, so it may still finish in the background. */
async function withTimeout<T>(run: () => Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (!timeoutMs) return run();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(run),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`handler timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}
