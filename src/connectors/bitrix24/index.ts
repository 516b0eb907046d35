/** Public entry of the Bitrix24 connector: a REST client (webhook or OAuth) shared by flows, loads and sync. */
export { createBitrix24Client, type Bitrix24Client } from './client.js';
export type { Bitrix24Auth } from './auth.js';
export type { Bitrix24ClientOptions, Bitrix24Caller } from './transport.js';
export type { Bitrix24Crm } from './crm.js';
export {
  MAX_BATCH_COMMANDS,
  encodeCommand,
  type Bitrix24BatchCommand,
  type Bitrix24BatchItem,
  type Bitrix24BatchOptions,
  type Bitrix24BatchResult,
} from './batch.js';
export {
  Bitrix24Error,
  Bitrix24ConfigError,
  Bitrix24RateLimitError,
  Bitrix24OperationLimitError,
  Bitrix24UnavailableError,
  Bitrix24RequestError,
  classifyBitrix24Error,
  type Bitrix24ErrorCode,
} from './errors.js';
export { createLeakyBucket, DEFAULT_RATE_LIMIT, type Bitrix24RateLimiter, type LeakyBucketBudget } from './rate-limiter.js';
export type {
  Bitrix24Reply,
  Bitrix24Page,
  Bitrix24Time,
  Bitrix24MultiField,
  Bitrix24Entity,
  Bitrix24Contact,
  Bitrix24Deal,
  Bitrix24ListParams,
  Bitrix24Log,
} from './types.js';
