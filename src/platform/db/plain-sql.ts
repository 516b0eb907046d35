import { sql, type RawBuilder } from 'kysely';

/**
 * A statement as text fragments around its parameters (`fragments.length === params.length + 1`), built
 * without Kysely: for the widest statements of every flow run (a run row, its step records, a job, an
 * event), Kysely's `sql` template made a frozen node per value, which cost more than SQLite's insert.
 * `execute()` (direct.ts) runs it straight on SQLite inside a group commit, and through Kysely
 * (`toRaw`) everywhere else, e.g. embedded in a PostgreSQL WITH clause.
 */
export interface PlainSql {
  readonly fragments: readonly string[];
  readonly params: readonly unknown[];
}

export const isPlainSql = (value: unknown): value is PlainSql => typeof value === 'object' && value !== null && 'fragments' in value && 'params' in value;

/** The same statement as Kysely's `sql` template, to run through Kysely or embed in a larger template. */
export function toRaw<R = unknown>(statement: PlainSql): RawBuilder<R> {
  const strings = Object.assign([...statement.fragments], { raw: statement.fragments }) as unknown as TemplateStringsArray;
  return sql<R>(strings, ...statement.params);
}

/**
 * `insert into <table> (<columns>) values (…), (…)<suffix>` for any number of rows: the fragments for
 * each row count are made once, so SQLite's statement cache sees one text per count.
 */
export function rowsInsert<Row>(table: string, columns: readonly (keyof Row & string)[], suffix = ''): (rows: readonly Row[]) => PlainSql {
  const byCount = new Map<number, readonly string[]>();
  const fragmentsFor = (n: number) => {
    let fragments = byCount.get(n);
    if (!fragments) {
      const head = `insert into ${table} (${columns.join(', ')}) values (`;
      const inRow = new Array<string>(columns.length - 1).fill(', ');
      const parts = [head];
      for (let r = 0; r < n; r++) parts.push(...inRow, r === n - 1 ? `)${suffix}` : '), (');
      fragments = Object.freeze(parts);
      byCount.set(n, fragments);
    }
    return fragments;
  };
  return (rows) => {
    const params: unknown[] = [];
    for (const row of rows) for (const column of columns) params.push(row[column]);
    return { fragments: fragmentsFor(rows.length), params };
  };
}
