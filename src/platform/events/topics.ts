import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';

/** A validated topic filter: exact names plus prefixes (`client.*` → `client.`); undefined = all. */
export interface TopicFilter {
  exact: string[];
  prefixes: string[];
}

export function parseTopics(topics: string[] | undefined): TopicFilter | undefined {
  if (!topics || topics.length === 0 || topics.includes('*')) return undefined;
  const filter: TopicFilter = { exact: [], prefixes: [] };
  for (const t of topics) {
    const star = t.indexOf('*');
    if (t === '' || (star !== -1 && star !== t.length - 1)) throw new Error(`invalid topic filter "${t}": use a name or a prefix ending in *`);
    if (star === -1) filter.exact.push(t);
    else filter.prefixes.push(t.slice(0, -1));
  }
  return filter;
}

export function topicMatches(filter: TopicFilter | undefined, topic: string): boolean {
  return !filter || filter.exact.includes(topic) || filter.prefixes.some((p) => topic.startsWith(p));
}

/**
 * The filter as SQL, so a subscriber to a rare topic does not page through every event.
 * substr() rather than LIKE: SQLite's LIKE ignores case, and `_`/`%` would need escaping.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function topicCondition(eb: ExpressionBuilder<any, 'events'>, filter: TopicFilter): Expression<SqlBool> {
  const parts: Expression<SqlBool>[] = [];
  if (filter.exact.length > 0) parts.push(eb('topic', 'in', filter.exact));
  for (const p of filter.prefixes) parts.push(sql<SqlBool>`substr(topic, 1, ${sql.lit(p.length)}) = ${p}`);
  return eb.or(parts);
}
