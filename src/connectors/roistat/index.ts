/** Public entry of the Roistat connector: an HTTP client for the push-style sync (clients, deals, statuses). */
export {
  createRoistatClient,
  DEFAULT_BASE_URL,
  type RoistatClient,
  type RoistatClientOptions,
  type RoistatLog,
} from './client.js';
export {
  RoistatError,
  RoistatConfigError,
  RoistatRateLimitError,
  RoistatUnavailableError,
  RoistatRequestError,
  classifyRoistatError,
  type RoistatErrorCode,
} from './errors.js';
export { createRateLimiter, DEFAULT_RATE_LIMIT, type RateLimiter, type RateLimitBudget } from './rate-limiter.js';
export { inBatches, sendWithBisection, DEFAULT_BATCH_SIZE, type BulkResult, type RecordResult } from './batches.js';
export type {
  RoistatClientRecord,
  RoistatOrderRecord,
  RoistatStatus,
  RoistatStatusType,
  AddOrdersCounters,
} from './types.js';
