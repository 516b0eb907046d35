import { sql } from 'kysely';
import type { Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import { AppError, notFound } from '../../platform/errors/index.js';
import type { EntityDef, Item, Row } from './entity.js';
import { toDb } from './fields.js';
import { compileToItem } from './item-mapper.js';

export interface ListQuery {
  limit?: number;
  offset?: number;
  page?: number;
  size?: number;
  sort?: string;
  q?: string;
  [filter: string]: unknown;
}

export const DEFAULT_PAGE = 1000;
export const MAX_PAGE = 5000;
const PAGING_KEYS = new Set(['limit', 'offset', 'page', 'size', 'sort', 'q']);

/** Resolves entity names to definitions, for reference checks. */
export type EntityLookup = (name: string) => EntityDef | undefined;

export class EntityService {
  constructor(
    readonly def: EntityDef,
    private readonly ctx: HubContext,
    private readonly lookup: EntityLookup,
  ) {
    this.toItem = compileToItem(def);
  }

  /** Row → item, generated once per entity (item-mapper.ts): it runs for every row served. */
  readonly toItem: (row: Row) => Item;

  async decorate(items: Item[], db: Db = this.ctx.db): Promise<Item[]> {
    if (this.def.decorate && items.length > 0) await this.def.decorate(this.ctx, items, db);
    return items;
  }

  async list(query: ListQuery, principal: Principal | null, extra?: (qb: any) => any): Promise<{ items: Item[]; total: number; limit: number; offset: number }> {
    const limit = Math.min(query.size ?? query.limit ?? DEFAULT_PAGE, MAX_PAGE);
    const offset = query.page !== undefined ? query.page * limit : (query.offset ?? 0);
    let base = this.ctx.db.selectFrom(this.def.table);
    base = this.applyScope(base, principal);
    for (const [key, value] of Object.entries(query)) {
      if (PAGING_KEYS.has(key) || value === undefined) continue;
      const field = this.def.fields[key];
      if (!field) continue;
      base = base.where(field.column, '=', toDb(field, key, value, this.ctx.dialect));
    }
    if (query.q) {
      const term = query.q;
      base = base.where((eb: any) => eb.or(this.def.nameFields.map((f) => this.ctx.dialect.containsIgnoreCase(eb.ref(this.def.fields[f].column), term))));
    }
    if (extra) base = extra(base);
    const [{ total }] = await base.select(sql<number>`count(*)`.as('total')).execute();
    let rows = base.selectAll(this.def.table);
    for (const [column, direction] of this.parseSort(query.sort ?? this.def.defaultSort)) rows = rows.orderBy(column, direction);
    rows = rows.orderBy(`${this.def.table}.id`, 'asc').limit(limit).offset(offset);
    const items = (await rows.execute()).map((r: Row) => this.toItem(r));
    return { items: await this.decorate(items), total: Number(total), limit, offset };
  }

  async get(id: number, principal: Principal | null, db: Db = this.ctx.db): Promise<Item> {
    // Outside a transaction and without a scope, a by-id read takes the prepared fast path.
    const fast = db === this.ctx.db && !(principal && this.def.readScope?.(principal));
    if (fast && this.def.fastGet) {
      const item = await this.def.fastGet(this.ctx, id, this.toItem);
      if (!item) throw notFound(this.def.label, id);
      return item;
    }
    const row = fast ? (await this.ctx.database.read.all(`select * from ${this.def.table} where id = ?`, [id]))[0] : await this.findRow(id, principal, db);
    if (!row) throw notFound(this.def.label, id);
    const [item] = await this.decorate([this.toItem(row)], db);
    return item;
  }

  async getByName(name: string, principal: Principal | null): Promise<Item> {
    const column = this.def.fields[this.def.nameFields[0]].column;
    let qb = this.ctx.db.selectFrom(this.def.table).selectAll().where(column, '=', name);
    qb = this.applyScope(qb, principal);
    const row = await qb.orderBy('id').limit(1).executeTakeFirst();
    if (!row) throw new AppError('NOT_FOUND', `${this.def.label} named "${name}" does not exist`);
    const [item] = await this.decorate([this.toItem(row)]);
    return item;
  }

  /** With `trx`, the write joins the caller's transaction (the caller commits and pokes the bus). */
  async create(input: Record<string, unknown>, principal: Principal | null, trx?: Db): Promise<Item> {
    const columns = this.columnsFrom(input, true);
    this.def.checkWrite?.(principal, columns); // refuse before any expensive work
    const precomputed = (await this.def.precompute?.(this.ctx, input)) ?? {};
    return this.write(async (trx) => {
      const row = { ...columns, ...precomputed };
      Object.assign(row, (await this.def.prepare?.(this.ctx, input, { trx, principal, existing: null })) ?? {});
      this.def.checkWrite?.(principal, row);
      await this.checkReferences(trx, input);
      await this.checkUnique(trx, row, null);
      if (this.def.timestamps !== false) row.created_at = row.updated_at = this.ctx.clock.now();
      const { id } = await trx.insertInto(this.def.table).values(row).returning('id').executeTakeFirstOrThrow();
      const created = await this.get(Number(id), null, trx);
      await this.ctx.events.publish(trx, { topic: `${this.def.name}.created`, entityType: this.def.name, entityId: Number(id), payload: { data: created } });
      return created;
    }, trx);
  }

  async update(id: number, input: Record<string, unknown>, principal: Principal | null, trx?: Db): Promise<Item> {
    const precomputed = (await this.def.precompute?.(this.ctx, input)) ?? {};
    return this.write(async (trx) => {
      const existing = await this.findRow(id, principal, trx);
      if (!existing) throw notFound(this.def.label, id);
      this.def.checkWrite?.(principal, existing);
      const patch = { ...this.columnsFrom(input, false), ...precomputed };
      Object.assign(patch, (await this.def.prepare?.(this.ctx, input, { trx, principal, existing })) ?? {});
      this.def.checkWrite?.(principal, { ...existing, ...patch });
      await this.checkReferences(trx, input);
      await this.checkUnique(trx, patch, id);
      const before = this.toItem(existing);
      const changed = Object.keys(patch).filter((c) => !sameValue(existing[c], patch[c]));
      if (changed.length > 0) {
        if (this.def.timestamps !== false) patch.updated_at = this.ctx.clock.now();
        await trx.updateTable(this.def.table).set(patch).where('id', '=', id).execute();
      }
      const after = await this.get(id, null, trx);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const [name, field] of Object.entries(this.def.fields)) {
        if (changed.includes(field.column) && !field.writeOnly) changes[name] = { from: before[name], to: after[name] };
      }
      if (changed.length > 0) {
        await this.ctx.events.publish(trx, { topic: `${this.def.name}.updated`, entityType: this.def.name, entityId: id, payload: { changes, data: after } });
      }
      return after;
    }, trx);
  }

  async remove(id: number, principal: Principal | null, trx?: Db): Promise<void> {
    await this.write(async (trx) => {
      const existing = await this.findRow(id, principal, trx);
      if (!existing) throw notFound(this.def.label, id);
      this.def.checkWrite?.(principal, existing);
      await this.def.beforeDelete?.(this.ctx, { trx, principal, existing });
      await trx.deleteFrom(this.def.table).where('id', '=', id).execute();
      await this.ctx.events.publish(trx, { topic: `${this.def.name}.deleted`, entityType: this.def.name, entityId: id, payload: { data: this.toItem(existing) } });
    }, trx);
  }

  /**
   * Runs a write in one transaction with its events; maps constraint violations to 409/422.
   * Inside a caller's transaction (`outer`) it only maps errors: committing is the caller's job.
   */
  async write<T>(work: (trx: Db) => Promise<T>, outer?: Db): Promise<T> {
    try {
      if (outer) return await work(outer);
      const result = await this.ctx.db.transaction().execute(work);
      this.ctx.events.poke();
      this.def.afterCommit?.(this.ctx);
      return result;
    } catch (err) {
      if (this.ctx.dialect.isForeignKeyViolation(err)) {
        throw new AppError('CONFLICT', `${this.def.label} is still referenced by other records (or refers to a missing one); remove those references first`);
      }
      if (this.ctx.dialect.isUniqueViolation(err)) throw new AppError('CONFLICT', `A ${this.def.name} with the same unique value already exists`);
      throw err;
    }
  }

  /**
   * Serialises writers that check-then-write on behalf of one record (e.g. "is this client already
   * booked?"): a row lock on PostgreSQL; SQLite transactions are serial already.
   */
  async lockRow(trx: Db, id: number): Promise<boolean> {
    let qb = trx.selectFrom(this.def.table).select('id').where('id', '=', id);
    if (this.ctx.dialect.name === 'postgres') qb = qb.forUpdate();
    return (await qb.executeTakeFirst()) !== undefined;
  }

  private async findRow(id: number, principal: Principal | null, db: Db): Promise<Row | undefined> {
    let qb = db.selectFrom(this.def.table).selectAll().where('id', '=', id);
    qb = this.applyScope(qb, principal);
    return qb.executeTakeFirst();
  }

  private applyScope(qb: any, principal: Principal | null): any {
    const scope = principal ? this.def.readScope?.(principal) : null;
    if (scope === 'none') return qb.where(sql<boolean>`1 = 0`);
    if (scope) return scope.value === null ? qb.where(scope.column, 'is', null) : qb.where(scope.column, '=', scope.value);
    return qb;
  }

  private columnsFrom(input: Record<string, unknown>, creating: boolean): Row {
    const row: Row = {};
    for (const [name, field] of Object.entries(this.def.fields)) {
      if (field.readOnly) continue;
      let value = input[name];
      if (value === undefined && creating && field.default !== undefined) value = field.default;
      if (value === undefined) continue;
      if (field.writeOnly) continue; // written by prepare() (e.g. hashed)
      row[field.column] = toDb(field, name, value, this.ctx.dialect);
    }
    return row;
  }

  private async checkReferences(trx: Db, input: Record<string, unknown>): Promise<void> {
    const problems: { field: string; message: string }[] = [];
    for (const [name, field] of Object.entries(this.def.fields)) {
      const value = input[name];
      if (!field.ref || value === undefined || value === null) continue;
      const target = this.lookup(field.ref);
      if (!target) continue;
      const found = await trx.selectFrom(target.table).select('id').where('id', '=', value).executeTakeFirst();
      if (!found) problems.push({ field: name, message: `${target.label} ${String(value)} does not exist` });
    }
    if (problems.length > 0) {
      throw new AppError('REFERENCE_NOT_FOUND', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
    }
  }

  private async checkUnique(trx: Db, row: Row, id: number | null): Promise<void> {
    for (const [name, field] of Object.entries(this.def.fields)) {
      if (!field.unique || row[field.column] === undefined || row[field.column] === null) continue;
      let qb = trx.selectFrom(this.def.table).select('id').where(field.column, '=', row[field.column]);
      if (id !== null) qb = qb.where('id', '<>', id);
      if (await qb.executeTakeFirst()) {
        throw new AppError('CONFLICT', `A ${this.def.name} with ${name} "${String(row[field.column])}" already exists`, [{ field: name, message: 'is already taken' }]);
      }
    }
  }

  private parseSort(sort: string | undefined): [string, 'asc' | 'desc'][] {
    if (!sort) return [];
    return sort.split(',').map((part) => {
      const desc = part.startsWith('-');
      const name = part.replace(/^[-+]/, '').trim();
      const column =
        name === this.def.idField ? 'id' : name === 'createTime' ? 'created_at' : name === 'updateTime' ? 'updated_at' : this.def.fields[name]?.column;
      if (!column || this.def.fields[name]?.writeOnly) {
        throw new AppError('MALFORMED_REQUEST', `Cannot sort by "${name}"; sortable fields: ${this.sortableFields().join(', ')}`);
      }
      return [`${this.def.table}.${column}`, desc ? 'desc' : 'asc'];
    });
  }

  sortableFields(): string[] {
    return [this.def.idField, ...Object.keys(this.def.fields).filter((f) => !this.def.fields[f].writeOnly && this.def.fields[f].kind !== 'json'), 'createTime', 'updateTime'];
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  return String(a) === String(b);
}
