import { sql } from 'kysely';
import type { ModuleMigration } from '../db/index.js';

export const eventsMigration: ModuleMigration = {
  name: '0001_platform_events',
  async up(db, dialect) {
    const table = db.schema.createTable('events');
    // PostgreSQL only, and deliberately the FIRST column: column defaults are evaluated in column
    // order, so pg_current_xact_id() gives the writing transaction its xid before the id is drawn
    // from the sequence. horizon.ts relies on "an id is only ever held by a transaction that already
    // has an xid" to know when a gap in the ids can no longer be filled.
    const withTx =
      dialect.name === 'postgres'
        ? (table.addColumn('tx_id', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`)) as unknown as typeof table)
        : table;
    await dialect
      .addIdColumn(withTx)
      .addColumn('topic', 'text', (c) => c.notNull())
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    // History of one entity, in order.
    await db.schema.createIndex('events_entity_idx').on('events').columns(['entity_type', 'entity_id', 'id']).execute();

    await db.schema
      .createTable('event_consumers')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('last_event_id', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
