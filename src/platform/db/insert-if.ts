import { sql, type RawBuilder } from 'kysely';

/**
 * PostgreSQL only: an INSERT of `rows` (objects keyed by column name) that happens only where
 * `condition` holds, to embed in a WITH clause whose writes depend on one another. The rows travel as
 * one JSON parameter typed by the table's own columns (jsonb_populate_recordset): an INSERT … SELECT
 * of plain parameters would need a cast per column.
 */
export function insertIf(table: string, columns: readonly string[], rows: readonly object[], condition: RawBuilder<unknown>): RawBuilder<unknown> {
  const list = sql.join(columns.map((c) => sql.ref(c)));
  return sql`insert into ${sql.table(table)} (${list})
    select ${list} from jsonb_populate_recordset(null::${sql.table(table)}, ${JSON.stringify(rows)}::jsonb) where ${condition}`;
}
