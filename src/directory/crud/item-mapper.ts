import type { EntityDef, Item, Row } from './entity.js';
import { fromDb, type FieldDef } from './fields.js';
import { formatTimestamp } from './time-format.js';

/**
 * The row → item function of one entity, generated once from its definition: it runs for every row
 * served. Literal property names make every read of a row and every item built monomorphic, where a
 * loop over the fields (row[column], item[name]) goes through V8's megamorphic lookups per field.
 * Fields whose stored value is the output value are read as they are; the others go through fromDb.
 */
export function compileToItem(def: EntityDef): (row: Row) => Item {
  const fields: FieldDef[] = [];
  const key = (name: string) => JSON.stringify(name); // a safe JS string literal for any property name
  const parts = [`${key(def.idField)}: Number(row.id)`];
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.writeOnly) continue;
    const read = `row[${key(field.column)}]`;
    parts.push(`${key(name)}: ${storedAsShown(field) ? `${read} ?? null` : `fromDb(fields[${fields.push(field) - 1}], ${read})`}`);
  }
  if (def.timestamps !== false) parts.push('createTime: formatTimestamp(row.created_at)', 'updateTime: formatTimestamp(row.updated_at)');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const build = new Function('fromDb', 'formatTimestamp', 'fields', `return (row) => ({ ${parts.join(', ')} });`);
  return build(fromDb, formatTimestamp, fields) as (row: Row) => Item;
}

/** Text-like kinds are stored exactly as they are shown. */
function storedAsShown(field: FieldDef): boolean {
  return !['boolean', 'timestamp', 'json', 'integer', 'number'].includes(field.kind);
}
