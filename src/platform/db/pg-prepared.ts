import { createHash } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type pg from 'pg';

/**
 * Named (prepared) statements for the hub's hottest writes on PostgreSQL. Kysely sends every query
 * unnamed, so PostgreSQL parses and plans it afresh each time; for a flow run's batched first write
 * that took as long as executing it (parse ~0.15 ms, bind and plan ~0.1–0.4 ms, execute ~0.1–0.5 ms,
 * from log_min_duration_statement). A statement whose text starts with PREPARED_MARKER goes as a named
 * query instead: pg prepares it once per connection, and after a few executions PostgreSQL keeps a
 * generic plan. Only statements with a small, fixed set of texts should be marked (each text is a
 * statement kept on every connection); the rest stay unnamed.
 */
export const PREPARED_MARKER = '/* prepared */ ';

/** `statement` marked to run as a named statement on PostgreSQL (the marker is a comment: SQLite ignores it). */
export function prepared<T>(statement: RawBuilder<T>): RawBuilder<T> {
  return sql<T>`${sql.raw(PREPARED_MARKER)}${statement}`;
}

/** A PostgreSQL statement name for a SQL text: the same on every connection and in every process. */
export const statementName = (prefix: string, text: string) => `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;

/** Most texts named by one process; past it, marked statements go unnamed (a text built from varying data was marked by mistake). */
const MOST_NAMES = 1000;

/** Makes every client of `pool` send marked statements as named ones. */
export function namePreparedStatements(pool: pg.Pool): void {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MOST_NAMES) names.set(text, (name = statementName('p', text)));
    return name;
  };
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
      if (typeof config === 'string' && config.startsWith(PREPARED_MARKER) && typeof values !== 'function') {
        const name = nameOf(config);
        if (name !== undefined) return query({ name, text: config, values }, callback);
      }
      return query(config, values, callback);
    };
  });
}
