// Operations tooling: dead jobs and stuck event subscribers, for the /jobs and /event-subscribers API and the CLI.
import type { OpsDeps } from './deps.js';
import { createJobOperations, type JobOperations } from './jobs.js';
import { createSubscriberOperations, type SubscriberOperations } from './subscribers.js';

export { registerOpsRoutes } from './routes.js';
export type { OpsDeps } from './deps.js';
export type { JobList, JobOperations } from './jobs.js';
export type { ForgottenSubscriber, SubscriberOperations } from './subscribers.js';

export interface Operations {
  jobs: JobOperations;
  subscribers: SubscriberOperations;
}

/** One implementation for the API and the CLI. */
export function createOperations(deps: OpsDeps): Operations {
  return { jobs: createJobOperations(deps), subscribers: createSubscriberOperations(deps) };
}
