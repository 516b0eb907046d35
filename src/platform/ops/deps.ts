import type { Clock } from '../clock.js';
import type { Db, SqlDialect } from '../db/index.js';
import type { ManagedEventBus } from '../events/index.js';
import type { ManagedJobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';

/** What the operations need: the managed bus (skip, retry, forget) and the queue's wake-up and task options, beyond the context's basics. */
export interface OpsDeps {
  db: Db;
  dialect: SqlDialect;
  clock: Clock;
  log: Logger;
  events: Pick<ManagedEventBus, 'subscriberStatus' | 'skip' | 'retryNow' | 'forget'>;
  jobs: Pick<ManagedJobQueue, 'nudge' | 'taskOptions'>;
}
