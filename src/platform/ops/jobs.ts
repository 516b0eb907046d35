import { AppError } from '../errors/index.js';
import { countJobsByState, deleteJob, listJobs, readJob, retryDeadJob, type JobListQuery, type JobRecord, type JobState } from '../jobs/index.js';
import type { OpsDeps } from './deps.js';

export interface JobList {
  jobs: JobRecord[];
  nextBefore: number | null;
  counts: Record<JobState, number>;
}

/** Jobs for operators, shared by the API and the CLI; refusals are AppErrors that say what to do. */
export interface JobOperations {
  list(query: JobListQuery): Promise<JobList>;
  get(id: number): Promise<JobRecord>;
  /** A dead job back to the queue (attempts 0, due now, key restored); returns it as queued. */
  retry(id: number, actor: string): Promise<JobRecord>;
  /** Deletes a dead or queued job. */
  remove(id: number, actor: string): Promise<void>;
}

export function createJobOperations(deps: OpsDeps): JobOperations {
  const { db, dialect, clock, log } = deps;
  const missing = (id: number) =>
    new AppError('NOT_FOUND', `Job ${id} does not exist: a job that succeeds is deleted, so it may have finished, or someone deleted it`);

  return {
    async list(query) {
      const [page, counts] = await Promise.all([listJobs(db, query), countJobsByState(db, query.task)]);
      return { ...page, counts };
    },

    async get(id) {
      const job = await readJob(db, id);
      if (!job) throw missing(id);
      return job;
    },

    async retry(id, actor) {
      const outcome = await retryDeadJob(db, dialect, id, clock.now());
      switch (outcome.kind) {
        case 'retried':
          log.warn({ jobId: id, task: outcome.job.task, key: outcome.job.key, by: actor }, 'dead job retried by an operator');
          deps.jobs.nudge(); // this process's workers run it at once; others at their next poll
          return outcome.job;
        case 'missing':
          throw missing(id);
        case 'not-dead':
          throw new AppError('CONFLICT', `Job ${id} is ${outcome.state}, not dead; only dead jobs can be retried (${outcome.state === 'queued' ? 'a queued job runs by itself when due' : 'a running job is being worked on'})`);
        case 'key-taken':
          throw new AppError(
            'CONFLICT',
            outcome.heldBy === null
              ? `Job ${id} cannot be retried: a live job held its key "${outcome.key}" a moment ago; try again`
              : `Job ${id} cannot be retried: its key "${outcome.key}" is held by live job ${outcome.heldBy}, which does the same work; wait for it, or delete one of them`,
          );
      }
    },

    async remove(id, actor) {
      const keepQueued = (task: string) => deps.jobs.taskOptions(task)?.keepQueued;
      const outcome = await deleteJob(db, id, (task) => (keepQueued(task) ? ['dead'] : ['dead', 'queued']));
      if (outcome.kind === 'missing') throw missing(id);
      if (outcome.kind === 'kept' && outcome.job.state === 'queued') {
        throw new AppError('CONFLICT', `Job ${id} (${outcome.job.task}) is queued and cannot be deleted: ${keepQueued(outcome.job.task)}`);
      }
      if (outcome.kind === 'kept') {
        const { job } = outcome;
        const lease = job.lockedUntil === null ? '' : `, lease until ${new Date(job.lockedUntil).toISOString()}`;
        throw new AppError('CONFLICT', `Job ${id} is running (worker ${job.lockedBy ?? 'unknown'}${lease}) and cannot be deleted while it is worked on; delete it once it is queued again or dead`);
      }
      log.warn({ jobId: id, task: outcome.job.task, state: outcome.job.state, key: outcome.job.key, by: actor }, 'job deleted by an operator');
    },
  };
}
