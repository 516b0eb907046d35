import type { ModuleMigration } from '../../platform/db/index.js';

/**
 * Flow versions, runs and step history. Times are epoch ms (BIGINT), JSON is text, on both dialects.
 * A run holds only its request and counters; step outputs live in flow_steps, one row per attempt, and
 * are read back (latest output per step) when the next step needs the context.
 */
export const flowsMigration: ModuleMigration = {
  name: '0300_flows',
  async up(db, dialect) {
    await db.schema
      .createTable('flow_versions')
      .addColumn('flow_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('flow_versions_pk', ['flow_id', 'version'])
      .addUniqueConstraint('flow_versions_hash_unique', ['flow_id', 'hash'])
      .execute();

    await db.schema
      .createTable('flow_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('flow_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      // queued | running | succeeded | failed | cancelled | dead
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('idempotency_key', 'text')
      .addColumn('replay_of', 'text')
      .addColumn('replay_from', 'text')
      // Branches still under way; the run ends when it reaches 0.
      .addColumn('live_branches', 'integer', (c) => c.notNull().defaultTo(0))
      // Last activation number handed out: step job keys are <run>:<step>:<seq>.
      .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('context_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('flow_runs_idempotency_unique')
      .on('flow_runs')
      .columns(['flow_id', 'idempotency_key'])
      .unique()
      .where('idempotency_key', 'is not', null)
      .execute();
    await db.schema.createIndex('flow_runs_flow_state').on('flow_runs').columns(['flow_id', 'state', 'created_at']).execute();
    await db.schema.createIndex('flow_runs_state_finished').on('flow_runs').columns(['state', 'finished_at']).execute();
    await db.schema.createIndex('flow_runs_flow_started').on('flow_runs').columns(['flow_id', 'started_at']).execute();

    await dialect
      .addIdColumn(db.schema.createTable('flow_steps'))
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('step_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      // succeeded | failed (for good) | retrying (this attempt failed, another follows) | waiting | reused
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('module', 'text', (c) => c.notNull())
      .addColumn('input', 'text')
      .addColumn('output', 'text')
      .addColumn('output_bytes', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('wake_at', 'bigint')
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      // One record per attempt of an activation: a second executor of the same attempt cannot record it twice.
      .addUniqueConstraint('flow_steps_attempt_unique', ['run_id', 'seq', 'attempt'])
      .execute();
  },
};

/** Which runs were replayed already (POST /flows/:id/replay skips them): only replays have replay_of. */
export const flowsReplayIndexMigration: ModuleMigration = {
  name: '0301_flows_replay_of',
  async up(db) {
    await db.schema.createIndex('flow_runs_replay_of').on('flow_runs').column('replay_of').where('replay_of', 'is not', null).execute();
  },
};
