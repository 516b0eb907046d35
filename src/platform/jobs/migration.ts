import type { ModuleMigration } from '../db/index.js';

/**
 * Durable jobs and the cron bookkeeping. Times are epoch milliseconds (BIGINT) on both dialects.
 * A finished job is deleted (its key becomes free again); a job that ran out of attempts stays as
 * state 'dead' with `job_key` moved to `dead_key`, so dead letters never block a new enqueue.
 */
export const jobsMigration: ModuleMigration = {
  name: '0002_platform_jobs',
  async up(db, dialect) {
    await dialect
      .addIdColumn(db.schema.createTable('jobs'))
      .addColumn('task', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('job_key', 'text')
      .addColumn('dead_key', 'text')
      .addColumn('state', 'text', (c) => c.notNull().defaultTo('queued'))
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('run_at', 'bigint', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // Partial: only live jobs hold a key; works on SQLite (3.8+) and PostgreSQL alike.
    await db.schema
      .createIndex('jobs_job_key_unique')
      .on('jobs')
      .column('job_key')
      .unique()
      .where('job_key', 'is not', null)
      .execute();
    await db.schema.createIndex('jobs_state_run_at').on('jobs').columns(['state', 'run_at']).execute();

    // One row per schedule name: the compare-and-set on last_fire_at elects the one process that
    // enqueues a given tick.
    await db.schema
      .createTable('cron_state')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('last_fire_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};
