export { createJobQueue, type JobQueueDeps, type JobQueueOptions, type ManagedJobQueue } from './queue.js';
export { jobsMigration } from './migration.js';
export { retryDelayMs } from './backoff.js';
export type { JobState } from './store.js';
export type { ClaimedJob, EnqueueOptions, JobInfo, JobInsertStatement, JobQueue, TaskCompleted, TaskHandler, TaskOptions, TaskRepeat } from './types.js';
export { countJobsByState, deleteJob, LIST_PAYLOAD_CHARS, listJobs, readJob, retryDeadJob, type DeleteOutcome, type JobListQuery, type JobRecord, type RetryOutcome } from './operations.js';
