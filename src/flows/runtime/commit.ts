import { sql } from 'kysely';
import type { Db } from '../../platform/db/index.js';
import type { ClaimedJob, JobInfo } from '../../platform/jobs/index.js';
import { contextTooLarge, enqueueSteps, publishRun, runEvent, STEP_TASK, stepJobKey, type CommitWake, type RuntimeDeps, type StepJob } from './deps.js';
import * as oneStatement from './one-statement.js';
import * as store from './store.js';

/** Thrown inside a transaction to roll it back when the run moved on without us (ended, or a twin recorded it). */
export class Abandon extends Error {}

/** What one finished activation writes: its history, the completion of its job and the run's next move. */
export interface CommitPlan {
  run: store.RunRow;
  /** The activation's step (named in the run's error when the context outgrows its limit). */
  stepId: string;
  work: StepJob;
  job: JobInfo;
  /** This activation's history: a record to insert, or the write that records it. */
  record: store.NewStep | ((trx: Db) => Promise<unknown>);
  /** Steps of its stretch, recorded with it. */
  chained: store.NewStep[];
  /** The steps the route leads to: each becomes an activation (a parallel branch beyond the first). */
  next: string[];
  /** Output bytes the commit adds to the run context. */
  bytes: number;
  /** The next step is the error route of a failed step (the chain depth grows). */
  errorRoute: boolean;
}

/** What a commit did: the run's counters after it, and what comes next. */
export interface Committed {
  counters: Pick<store.RunRow, 'live_branches' | 'last_seq' | 'context_bytes'>;
  ended?: 'succeeded' | 'failed';
  endedAt: number;
  /** The first next activation, enqueued already claimed by this worker. */
  handOn?: ClaimedJob;
  handOnSeq: number;
  /** The handed-on activation is the run's only live branch. */
  singleBranch: boolean;
}

/**
 * The two ways an activation's commit is written, with the same outcome: one statement (PostgreSQL, a
 * single branch going on to at most one step — no begin/commit round trips), else one transaction.
 */
export function createCommitWriters(deps: RuntimeDeps) {
  const { db, clock } = deps;

  /** A transaction that enqueued work wakes the workers after commit; Abandon rolls it back quietly (false). */
  async function transaction(work: (trx: Db) => Promise<void>, wake?: () => CommitWake): Promise<boolean> {
    try {
      await deps.transaction(work);
    } catch (err) {
      if (err instanceof Abandon || deps.dialect.isUniqueViolation(err)) return false;
      throw err;
    }
    afterCommit(wake?.() ?? {});
    return true;
  }

  function afterCommit(what: CommitWake): void {
    // A step handed on to this worker queued nothing: waking the job loop would only poll for nothing.
    if (what.jobs !== false || what.events !== false) deps.afterCommit(what);
  }

  /** Writes the plan; undefined when nothing was written (a lapsed lease, a twin, an ended run). */
  async function commit(p: CommitPlan): Promise<Committed | undefined> {
    const fitsOne =
      deps.dialect.dataModifyingCtes && typeof p.record !== 'function' && !p.errorRoute && p.run.live_branches === 1 && p.next.length <= 1 && p.run.context_bytes + p.bytes <= deps.settings.contextBytes;
    if (fitsOne) {
      try {
        const done = await inOneStatement(p, p.record as store.NewStep);
        if (done) return done; // else nothing was written: the transaction tells a lapsed lease from the rest
      } catch (err) {
        if (deps.dialect.isUniqueViolation(err)) return undefined; // a twin recorded this activation
        throw err;
      }
    }
    return inTransaction(p);
  }

  async function inOneStatement(p: CommitPlan, record: store.NewStep): Promise<Committed | undefined> {
    const { run, job, chained, next } = p;
    const [nextStep] = next;
    const seq = run.last_seq + chained.length + next.length; // the next step's, when there is one
    const now = clock.now();
    const r = await oneStatement.commitStep(db, {
      run,
      records: [record, ...chained],
      completion: (onlyIf) => job.completionStatement(onlyIf),
      change: { branches: next.length - 1, newActivations: chained.length + next.length, contextBytes: p.bytes },
      next: nextStep === undefined ? undefined : (onlyIf) => job.nextStatement(STEP_TASK, { runId: run.id, stepId: nextStep, seq } satisfies StepJob, { key: stepJobKey(run.id, nextStep, seq) }, onlyIf),
      succeeded: nextStep === undefined ? { at: now, event: (onlyIf) => deps.events.publishStatement(runEvent('flow.run.succeeded', run, { state: 'succeeded' }), onlyIf) } : undefined,
    });
    if (!r.completed) return undefined;
    const out: Committed = { counters: countersOf(run), endedAt: 0, handOnSeq: 0, singleBranch: false };
    let queued = false;
    const a = r.advanced;
    if (a) {
      out.counters = { live_branches: a.liveBranches, last_seq: a.lastSeq, context_bytes: a.contextBytes };
      if (nextStep === undefined) {
        out.endedAt = now;
        out.ended = 'succeeded';
      } else {
        out.handOn = r.next ?? undefined;
        out.handOnSeq = seq;
        out.singleBranch = true;
        queued = r.next === null;
      }
    }
    afterCommit({ jobs: queued, events: out.ended !== undefined });
    return out;
  }

  async function inTransaction(p: CommitPlan): Promise<Committed | undefined> {
    const { run, job, record, chained, next, bytes } = p;
    const limit = deps.settings.contextBytes;
    const out: Committed = { counters: countersOf(run), endedAt: 0, handOnSeq: 0, singleBranch: false };
    let queued = false;
    const committed = await transaction(
      async (trx) => {
        if (typeof record === 'function') await record(trx);
        const inserts = typeof record === 'function' ? chained : [record, ...chained];
        if (inserts.length > 0) await store.insertSteps(trx, inserts);
        if (!(await job.completeIn(trx))) throw new Abandon(); // the lease lapsed: another worker runs this activation
        const change = { branches: next.length - 1, newActivations: chained.length + next.length, contextBytes: bytes };
        // The last branch ending within the limits: the same write ends the run (else a second one below).
        const endsHere = next.length === 0 && run.live_branches === 1 && run.context_bytes + bytes <= limit;
        const now = clock.now();
        const endedInAdvance = endsHere
          ? await store.advanceRun(trx, run.id, change, { succeededAt: now, onlyIf: sql`live_branches = 1 and context_bytes = ${run.context_bytes}` })
          : undefined;
        const advanced = endedInAdvance ?? (await store.advanceRun(trx, run.id, change));
        if (!advanced) throw new Abandon();
        out.counters = { live_branches: advanced.liveBranches, last_seq: advanced.lastSeq, context_bytes: advanced.contextBytes };
        // The stretch numbered its steps from the run as read; had anyone else taken a number, they would clash.
        if (chained.length > 0 && advanced.lastSeq !== run.last_seq + chained.length + next.length) throw new Abandon();
        if (advanced.contextBytes > limit) {
          const error = contextTooLarge(chained.at(-1)?.step_id ?? p.stepId, advanced.contextBytes, limit);
          await store.endRun(trx, run.id, ['running'], 'failed', clock.now(), error);
          await publishRun(deps, trx, 'flow.run.failed', run, { state: 'failed', error });
          out.ended = 'failed';
          return;
        }
        const firstSeq = advanced.lastSeq - next.length + 1;
        const errorDepth = p.errorRoute ? (p.work.errorDepth ?? 0) : 0;
        const [first, ...rest] = next;
        if (first !== undefined) {
          const nextWork: StepJob = { runId: run.id, stepId: first, seq: firstSeq, ...(errorDepth > 0 ? { errorDepth } : {}) };
          out.handOn = (await job.enqueueNext(trx, STEP_TASK, nextWork, { key: stepJobKey(run.id, first, firstSeq) })) ?? undefined;
          out.handOnSeq = firstSeq;
          out.singleBranch = advanced.liveBranches === 1;
        }
        await enqueueSteps(deps, trx, run.id, rest, firstSeq + 1, errorDepth);
        queued = rest.length > 0 || (first !== undefined && out.handOn === undefined);
        if (advanced.liveBranches === 0) {
          out.endedAt = endedInAdvance ? now : clock.now();
          if (!endedInAdvance) await store.endRun(trx, run.id, ['running'], 'succeeded', out.endedAt);
          await publishRun(deps, trx, 'flow.run.succeeded', run, { state: 'succeeded' });
          out.ended = 'succeeded';
        }
      },
      () => ({ jobs: queued, events: out.ended !== undefined }),
    );
    return committed ? out : undefined;
  }

  return { commit, transaction };
}

const countersOf = (run: store.RunRow): Committed['counters'] => ({ live_branches: run.live_branches, last_seq: run.last_seq, context_bytes: run.context_bytes });
