import type { ModuleMigration } from '../../platform/db/index.js';

/**
 * Sync state lives in Conveyor's own tables, one row per (target, kind, entity): what was last built
 * for the remote, what the remote last accepted, and how the last attempt went.
 */
export const syncMigration: ModuleMigration = {
  name: '0200_sync',
  async up(db, dialect) {
    await db.schema
      .createTable('sync_entities')
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'bigint', (c) => c.notNull())
      .addColumn('remote_id', 'text')
      // pending | registered | error | excluded
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('payload', 'text')
      .addColumn('payload_hash', 'text')
      .addColumn('registered_payload', 'text')
      .addColumn('registered_hash', 'text')
      // For deals: the client that must be registered first, and the status the deal refers to.
      .addColumn('depends_on', 'bigint')
      .addColumn('status_ref', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error_code', 'text')
      .addColumn('last_error', 'text')
      .addColumn('changed_at', 'bigint', (c) => c.notNull())
      .addColumn('last_attempt_at', 'bigint')
      .addColumn('registered_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('sync_entities_pk', ['target', 'kind', 'entity_id'])
      .execute();
    // The registrars' queue: pending ones oldest first, errored ones by last attempt.
    await db.schema.createIndex('sync_entities_state_idx').on('sync_entities').columns(['target', 'kind', 'state', 'changed_at', 'entity_id']).execute();

    await dialect
      .addIdColumn(db.schema.createTable('sync_history'))
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'bigint', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      // detected | registered | error | excluded | forced
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('payload_hash', 'text')
      .addColumn('error_code', 'text')
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('sync_history_entity_idx').on('sync_history').columns(['target', 'kind', 'entity_id', 'id']).execute();
    await db.schema.createIndex('sync_history_at_idx').on('sync_history').column('at').execute();

    // Small per-target facts: the registered status list, a halt after a configuration error, scans.
    await db.schema
      .createTable('sync_target_state')
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('sync_target_state_pk', ['target', 'key'])
      .execute();
  },
};
