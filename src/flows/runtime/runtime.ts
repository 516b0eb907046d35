import type { Registry } from 'prom-client';
import type { Clock } from '../../platform/clock.js';
import { createGroupCommit, type Database } from '../../platform/db/index.js';
import type { EventBus } from '../../platform/events/index.js';
import type { JobQueue } from '../../platform/jobs/index.js';
import type { Logger } from '../../platform/logging/index.js';
import { BUILTIN_LOCAL_MODULES } from '../modules/index.js';
import { createRunCancels, PRUNE_TASK, RELEASE_TASK, STEP_TASK, type CommitWake, type EndedRun, type FlowsSettings, type RuntimeDeps } from './deps.js';
import { createModuleDirectory, type ModuleDirectory } from './dispatch.js';
import { bufferOutlook, type BufferOutlook } from './buffer.js';
import { listenForCancels } from './cancel-broadcast.js';
import { createIntake, type Intake } from './intake.js';
import type { LocalModule } from './module.js';
import { connectRemoteModules, remoteModulesByName, type TransportFactories } from './remote.js';
import { createFlowRegistry, createStoredFlowRegistry, readFlowDirectory, type FlowRegistry } from './registry.js';
import type { Flow } from '../definition/flow.js';
import * as store from './store.js';
import { createFirstWrites } from './first-writes.js';
import { createFlowMetrics, NO_FLOW_METRICS } from './metrics.js';
import { createSafeStart } from './safe-start.js';
import { createSupervisor, type Supervisor } from './supervisor.js';

export interface FlowRuntimeOptions {
  database: Database;
  clock: Clock;
  log: Logger;
  events: EventBus;
  jobs: JobQueue;
  settings: FlowsSettings;
  /** Local modules besides the built-ins (plugins' `flowModules`, tests). */
  modules?: readonly LocalModule[];
  /** How to reach remote modules (`flows.modules.<name>.transport`): one factory per transport kind. */
  transports?: TransportFactories;
  /** Called after commits that enqueued work (the hub wakes its job loop and event dispatcher). */
  afterCommit?: (wake?: CommitWake) => void;
  /** Where the runtime's Prometheus metrics go (the hub's /metrics). */
  metrics?: Registry;
  /**
   * A command-line process (`conveyor runs …`): it runs no steps, so remote modules are known by name
   * and not connected, nothing hears other processes' cancels, and nothing is enqueued; the flows are
   * the versions the hubs registered (createStoredFlowRegistry), not the files.
   */
  command?: boolean;
}

export interface FlowRuntime {
  registry: FlowRegistry;
  modules: ModuleDirectory;
  intake: Intake;
  supervisor: Supervisor;
  deps: RuntimeDeps;
  /** Reads for the API. */
  runs: {
    read(id: string): Promise<store.RunRow | undefined>;
    list(filter: store.RunFilter): Promise<store.RunRow[]>;
    /** The latest replay of each of these runs that has one. */
    replaysOf(ids: readonly string[]): Promise<Map<string, string>>;
    steps(runId: string, afterId: number, limit: number): Promise<store.StepRow[]>;
    /** The flow's intake buffer: queued runs and when the oldest was accepted. */
    /** What the flow's intake buffer holds and when it next releases. */
    buffered(flow: Flow): Promise<BufferOutlook>;
  };
  /** Deletes runs (and their steps) that ended more than flows.retentionDays ago; the daily prune task calls it. */
  prune(): Promise<number>;
  /**
   * Resolves with the run once it has ended, or as it is after `ms`; with its final context when this
   * process knew it whole as the run ended (else read it with supervisor.loadContext). `fresh`: the run
   * was just accepted, so reading it before waiting would only find it running.
   */
  waitForEnd(runId: string, ms: number, fresh?: boolean): Promise<{ run?: store.RunRow; context?: Record<string, unknown> }>;
  close(): Promise<void>;
}

const PRUNE_CHUNK = 500;

/**
 * Loads the flows of `settings.dir` (all or nothing: a broken file throws FlowLoadError listing every
 * problem), records their versions, and defines the step, release and prune tasks on the job queue.
 * Workers started later pick them up; every process of one hub must load the same flows and modules.
 */
export async function createFlowRuntime(o: FlowRuntimeOptions): Promise<FlowRuntime> {
  const remote = o.command ? remoteModulesByName(o.settings.modules) : await connectRemoteModules(o.settings.modules, o.transports ?? {});
  let modules: ModuleDirectory | undefined;
  try {
    const safeRemote = new Set(Object.entries(o.settings.modules).flatMap(([name, m]) => (m.safe ? [name] : [])));
    modules = createModuleDirectory([...BUILTIN_LOCAL_MODULES, ...(o.modules ?? [])], remote, safeRemote);
    return await startRuntime(o, modules);
  } catch (err) {
    await (modules ?? createModuleDirectory([], remote)).close();
    throw err;
  }
}

async function startRuntime(o: FlowRuntimeOptions, modules: ModuleDirectory): Promise<FlowRuntime> {
  const names = modules.names();
  const { db, dialect } = o.database;
  const log = o.log.child({ component: 'flows' });
  // Stored versions (runs already under way) are checked by module names only: a module's stricter
  // option checks must not strand a run that started before them.
  const flows = o.command ? [] : await readFlowDirectory(o.settings.dir, { modules: names, optionProblems: modules.optionProblems });
  const registry = o.command ? await storedRegistry(db, names, log) : await createFlowRegistry({ db, dialect, clock: o.clock, modules: names }, flows);
  const waiters = new Map<string, Set<(outcome?: EndedRun) => void>>();

  const groupCommit = createGroupCommit(db, dialect);
  const deps: RuntimeDeps = {
    db,
    dialect,
    transaction: (work) => groupCommit.transaction(work),
    clock: o.clock,
    log,
    events: o.events,
    jobs: o.jobs,
    settings: o.settings,
    registry,
    modules,
    afterCommit: o.afterCommit ?? (() => undefined),
    runEnded(runId, outcome) {
      for (const wake of waiters.get(runId) ?? []) wake(outcome);
    },
    cancels: createRunCancels(),
    firstWrites: dialect.dataModifyingCtes ? createFirstWrites(db, o.events, o.metrics) : undefined,
    metrics: o.command ? NO_FLOW_METRICS : createFlowMetrics(o.metrics, db),
  };
  const supervisor = createSupervisor(deps);
  const intake = createIntake(
    deps,
    (run, job, context) => {
      supervisor.warmStart(run, 1, context);
      o.jobs.runClaimed(job);
    },
    createSafeStart(deps, supervisor),
  );

  o.jobs.defineTask(STEP_TASK, supervisor.handleStepJob, {
    keepQueued: 'its flow run would wait for this step for ever; cancel the run instead (POST /runs/<runId>/cancel, the runId is in the payload)',
  });
  o.jobs.defineTask(RELEASE_TASK, () => intake.releaseQueued());
  async function prune(): Promise<number> {
    const cutoff = o.clock.now() - o.settings.retentionDays * 86_400_000;
    let pruned = 0;
    // In chunks, each its own transaction: pruning a large backlog never holds one long lock or a big list.
    for (let n = PRUNE_CHUNK; n === PRUNE_CHUNK; pruned += n) n = await store.pruneRuns(db, cutoff, PRUNE_CHUNK);
    if (pruned > 0) log.info({ pruned, retentionDays: o.settings.retentionDays }, 'pruned ended flow runs');
    return pruned;
  }
  o.jobs.defineTask(PRUNE_TASK, async () => void (await prune()));
  o.jobs.schedule(PRUNE_TASK, '29 4 * * *', PRUNE_TASK);
  if (flows.some((f) => f.intake.mode !== 'immediate')) await o.jobs.enqueue(db, RELEASE_TASK, {}, { key: RELEASE_TASK });
  if (!o.command) log.info({ dir: o.settings.dir, flows: registry.list().map((e) => `${e.flow.id}@v${e.version}`) }, flows.length ? 'flows loaded' : 'no flows loaded');

  async function waitForEnd(runId: string, ms: number, fresh = false): Promise<{ run?: store.RunRow; context?: Record<string, unknown> }> {
    const deadline = Date.now() + ms;
    for (let skipRead = fresh; ; skipRead = false) {
      if (!skipRead) {
        const run = await store.readRun(db, runId);
        if (!run || store.ENDED_STATES.includes(run.state) || Date.now() >= deadline) return { run };
      }
      // Woken at once by a run ending in this process (with its outcome, when known whole); the short
      // poll covers runs finished by other workers.
      const outcome = await new Promise<EndedRun | undefined>((resolve) => {
        const set = waiters.get(runId) ?? new Set();
        waiters.set(runId, set);
        const timer = setTimeout(wake, Math.min(250, Math.max(0, deadline - Date.now())));
        function wake(ended?: EndedRun) {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0) waiters.delete(runId);
          resolve(ended);
        }
        set.add(wake);
      });
      if (outcome) return outcome;
    }
  }

  const runs: FlowRuntime['runs'] = {
    read: (id) => store.readRun(db, id),
    list: (filter) => store.listRuns(db, filter),
    replaysOf: (ids) => store.replaysOf(db, ids),
    steps: (runId, afterId, limit) => store.listSteps(db, runId, afterId, limit),
    buffered: (flow) => bufferOutlook(db, flow, o.clock.now()),
  };
  // Last, so nothing after it can fail and leave the connection open.
  const cancelListener =
    o.command ? undefined : await listenForCancels({ database: o.database, cancels: deps.cancels, log, onCancelled: (runId) => deps.runEnded(runId) });
  async function close(): Promise<void> {
    await cancelListener?.close();
    await modules.close();
  }
  return { registry, modules, intake, supervisor, deps, runs, prune, waitForEnd, close };
}

async function storedRegistry(db: Database['db'], modules: readonly string[], log: Logger): Promise<FlowRegistry> {
  const { registry, problems } = await createStoredFlowRegistry({ db, modules });
  for (const problem of problems) log.warn(problem);
  return registry;
}
