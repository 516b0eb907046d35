import type { OperationNode, QueryResult, RawBuilder, RawNode, ValueNode } from 'kysely';
import type { Db } from './connect.js';
import { isPlainSql, toRaw, type PlainSql } from './plain-sql.js';

/**
 * Runs a hub's hottest statements (`sql` templates and PlainSql: a run's rows, its job, its events) on SQLite without
 * Kysely's compiler and executor. Each `execute()` through Kysely builds a query id, visits the node tree,
 * freezes the compiled query and goes through three promise hops before better-sqlite3 sees the SQL; for
 * the small statements of a flow run that took as long as SQLite's own work.
 *
 * Only inside a group commit's transaction (group-commit.ts marks its transaction with `useDirect`): there
 * the one SQLite connection is held by that transaction and its members run one at a time, so a
 * statement run straight on the connection is exactly what Kysely would have run. Anywhere else (the root
 * `db`, whose queries queue for the connection, PostgreSQL, a template this compiler does not know) the
 * statement goes through Kysely as usual.
 */
export interface DirectSqlite {
  /** better-sqlite3's prepared statement for `sql` (cached), after ending the hub's shared read snapshot. */
  prepare(sql: string): DirectStatement;
}

interface DirectStatement {
  readonly reader: boolean;
  all(params: unknown[]): unknown[];
  run(params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
}

const AVAILABLE = Symbol('conveyor.directSqlite.available');
const ACTIVE = Symbol('conveyor.directSqlite.active');
type Marked = { [AVAILABLE]?: DirectSqlite; [ACTIVE]?: DirectSqlite };

/** openSqlite: the connection's direct statements, for group commits on this database to use. */
export function offerDirect(db: Db, direct: DirectSqlite): void {
  (db as unknown as Marked)[AVAILABLE] = direct;
}

/** Inside a transaction of `root` that holds the connection alone: its statements may run directly. */
export function useDirect(root: Db, trx: Db): DirectSqlite | undefined {
  const direct = (root as unknown as Marked)[AVAILABLE];
  if (direct) (trx as unknown as Marked)[ACTIVE] = direct;
  return direct;
}

/** `query.execute(db)`, straight on the SQLite connection where `db` allows it (see above). */
export function execute<R>(db: Db, query: RawBuilder<R> | PlainSql): Promise<QueryResult<R>> {
  const direct = (db as unknown as Marked)[ACTIVE];
  if (isPlainSql(query)) {
    return direct ? Promise.resolve(runDirect<R>(direct, sqliteText(query.fragments), query.params as unknown[])) : toRaw<R>(query).execute(db);
  }
  if (direct) {
    const compiled = compileRaw(query.toOperationNode());
    if (compiled) return Promise.resolve(runDirect<R>(direct, compiled.sql, compiled.params));
  }
  return query.execute(db);
}

const texts = new WeakMap<readonly string[], string>();
/** SQLite's text of a plain statement (`?` placeholders), once per fragments array. */
function sqliteText(fragments: readonly string[]): string {
  let text = texts.get(fragments);
  if (text === undefined) texts.set(fragments, (text = fragments.join('?')));
  return text;
}

/** As Kysely's SQLite driver answers: rows for a reader, else the change count and last row id. */
export function runDirect<R>(direct: DirectSqlite, sql: string, params: unknown[] = []): QueryResult<R> {
  const stmt = direct.prepare(sql);
  if (stmt.reader) return { rows: stmt.all(params) as R[] };
  const { changes, lastInsertRowid } = stmt.run(params);
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
}

/** SQL and parameters of a template made of fragments and values only; undefined for anything else. */
function compileRaw(node: RawNode): { sql: string; params: unknown[] } | undefined {
  const out = { sql: '', params: [] as unknown[] };
  return appendRaw(node, out) ? out : undefined;
}

function appendRaw(node: RawNode, out: { sql: string; params: unknown[] }): boolean {
  const { sqlFragments, parameters } = node;
  for (let i = 0; i < sqlFragments.length; i++) {
    out.sql += sqlFragments[i];
    if (i < parameters.length && !appendNode(parameters[i]!, out)) return false;
  }
  return true;
}

function appendNode(node: OperationNode, out: { sql: string; params: unknown[] }): boolean {
  if (node.kind === 'RawNode') return appendRaw(node as RawNode, out);
  if (node.kind === 'ValueNode' && !(node as ValueNode).immediate) {
    out.params.push((node as ValueNode).value);
    out.sql += '?';
    return true;
  }
  return false;
}
