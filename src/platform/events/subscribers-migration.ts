import type { ModuleMigration } from '../db/index.js';

/**
 * What a checkpoint needs besides its position, so that any process (the CLI, a hub that does not load
 * the plugin) can judge a subscriber: its topic filter, and when a running process last registered it.
 */
export const eventSubscribersMigration: ModuleMigration = {
  name: '0003_platform_event_subscribers',
  async up(db) {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    // JSON array of the filter as written (["client.*"], ["*"] for all); null on rows registered
    // before this migration until their subscriber registers again: the filter is unknown then.
    await db.schema.alterTable('event_consumers').addColumn('topics', 'text').execute();
    // Epoch ms of the last registration or refresh by a running bus. Existing rows start at their last
    // checkpoint change, the last time a process is known to have worked on them.
    await db.schema.alterTable('event_consumers').addColumn('seen_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('event_consumers').addColumn('seen_by', 'text').execute();
    await db.updateTable('event_consumers').set((eb) => ({ seen_at: eb.ref('updated_at') })).execute();
  },
};
