import type { Registry } from 'prom-client';
import type { Authenticator } from './auth/index.js';
import type { Clock } from './clock.js';
import type { Config } from './config/index.js';
import type { Database, Db, SqlDialect } from './db/index.js';
import type { EventBus } from './events/types.js';
import type { JobQueue } from './jobs/types.js';
import type { Logger } from './logging/index.js';

/**
 * Everything a module needs, built once by the composition root (src/hub.ts) and passed explicitly.
 * No container, no globals: tests build their own with fakes where they want them.
 */
export interface HubContext {
  readonly config: Readonly<Config>;
  readonly database: Database;
  readonly db: Db;
  readonly dialect: SqlDialect;
  readonly log: Logger;
  readonly clock: Clock;
  readonly events: EventBus;
  readonly jobs: JobQueue;
  readonly metrics: Registry;
  readonly auth: Authenticator;
}
