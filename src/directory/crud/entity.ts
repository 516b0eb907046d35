import type { TSchema } from 'typebox';
import type { Permission, Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import type { FieldDef } from './fields.js';

export type Row = Record<string, unknown>;
export type Item = Record<string, unknown>;

export interface WriteOp {
  trx: Db;
  principal: Principal | null;
  /** The stored row on update and delete; null on create. */
  existing: Row | null;
}

/**
 * Declares one directory entity; the generic service and routes do the rest (list, search, get,
 * add, edit, delete in both the 003 and REST forms, events in the same transaction, OpenAPI).
 */
export interface EntityDef {
  /** Singular, used for events (`client.updated`) and messages. */
  name: string;
  label: string;
  path: string;
  table: string;
  /** The API name of the id, as in 003 (`clientId`). The column is always `id`. */
  idField: string;
  tag: string;
  fields: Record<string, FieldDef>;
  /** Fields searched by `?q=`; the first is the name used by `/name/:name`. */
  nameFields: string[];
  timestamps?: boolean;
  permissions: { read: Permission | Permission[]; write: Permission | Permission[] };
  defaultSort?: string;
  extraOutput?: Record<string, TSchema>;
  extraInput?: Record<string, TSchema>;
  /** A by-id read in one prepared statement, related data included (the hottest read of an entity). */
  fastGet?(ctx: HubContext, id: number, toItem: (row: Row) => Item): Promise<Item | undefined>;
  /** Adds computed or related properties to items (one query per page, not per item). */
  decorate?(ctx: HubContext, items: Item[], db: Db): Promise<void>;
  /** Before the write transaction, for slow work such as hashing a password: extra columns. */
  precompute?(ctx: HubContext, input: Record<string, unknown>): Promise<Row | void>;
  /** Inside the write transaction, before the row is written: extra columns, or throw to refuse. */
  prepare?(ctx: HubContext, input: Record<string, unknown>, op: WriteOp): Promise<Row | void>;
  /** Inside the delete transaction, before the row goes: throw to refuse, or clean up. */
  beforeDelete?(ctx: HubContext, op: WriteOp): Promise<void>;
  /** Restricts what a caller may see (e.g. employees of the own department). */
  readScope?(principal: Principal | null): { column: string; value: unknown } | null | 'none';
  /** Throws when the caller may not write this row (existing, or the new values). */
  checkWrite?(principal: Principal | null, row: Row): void;
  /** After a committed write (e.g. to invalidate cached sign-ins). */
  afterCommit?(ctx: HubContext): void;
}
