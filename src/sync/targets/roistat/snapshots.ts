import type { Db, SqlDialect } from '../../../platform/db/index.js';
import { chunks } from '../../engine/store.js';
import type { ClientSnapshot, DealSnapshot, ParameterMap } from './providers.js';

/**
 * Bulk reads of the hub data providers see. Change detection handles hundreds of changes per call, so
 * each table is read once per call for all ids, never once per entity.
 */

export async function loadClientSnapshots(db: Db, dialect: SqlDialect, ids: readonly number[]): Promise<Map<number, ClientSnapshot>> {
  const out = new Map<number, ClientSnapshot>();
  for (const part of chunks(ids, dialect.idListChunk)) {
    const rows = await db
      .selectFrom('clients as c')
      .leftJoin('companies as co', 'co.id', 'c.company_id')
      .select(['c.id', 'c.first_name', 'c.last_name', 'c.middle_name', 'c.birth_date', 'c.email', 'c.phone', 'c.available', 'c.company_id', 'co.name as company_name', 'c.external_id', 'c.created_at'])
      .where(dialect.idIn('c.id', part))
      .execute();
    const parameters = await loadParameters(db, dialect, 'client', part);
    const groups = new Map<number, number[]>();
    const memberships = await db.selectFrom('client_group_members').select(['client_id', 'group_id']).where(dialect.idIn('client_id', part)).orderBy('group_id').execute();
    for (const m of memberships) {
      const list = groups.get(Number(m.client_id)) ?? [];
      list.push(Number(m.group_id));
      groups.set(Number(m.client_id), list);
    }
    for (const r of rows) {
      const id = Number(r.id);
      out.set(id, {
        id,
        firstName: str(r.first_name),
        lastName: str(r.last_name),
        middleName: str(r.middle_name),
        birthDate: r.birth_date === null || r.birth_date === undefined ? null : Number(r.birth_date),
        email: str(r.email),
        phone: str(r.phone),
        available: Boolean(r.available),
        companyId: r.company_id === null || r.company_id === undefined ? null : Number(r.company_id),
        companyName: str(r.company_name),
        externalId: str(r.external_id),
        groupIds: groups.get(id) ?? [],
        parameters: parameters.get(id) ?? {},
        createdAt: Number(r.created_at),
      });
    }
  }
  return out;
}

export async function loadDealSnapshots(db: Db, dialect: SqlDialect, ids: readonly number[]): Promise<Map<number, DealSnapshot>> {
  const out = new Map<number, DealSnapshot>();
  for (const part of chunks(ids, dialect.idListChunk)) {
    const rows = await db
      .selectFrom('deals as d')
      .innerJoin('deal_types as t', 't.id', 'd.deal_type_id')
      .leftJoin('deal_statuses as s', 's.id', 'd.deal_status_id')
      .leftJoin('companies as co', 'co.id', 'd.company_id')
      .select([
        'd.id',
        'd.title',
        'd.client_id',
        'd.company_id',
        'co.name as company_name',
        'd.deal_type_id',
        't.name as type_name',
        'd.deal_status_id',
        's.name as status_name',
        's.type as status_type',
        'd.amount',
        'd.currency',
        'd.external_id',
        'd.created_at',
        'd.updated_at',
      ])
      .where(dialect.idIn('d.id', part))
      .execute();
    const parameters = await loadParameters(db, dialect, 'deal', part);
    for (const r of rows) {
      const id = Number(r.id);
      out.set(id, {
        id,
        title: String(r.title),
        clientId: optionalNumber(r.client_id),
        companyId: optionalNumber(r.company_id),
        companyName: str(r.company_name),
        dealTypeId: Number(r.deal_type_id),
        dealTypeName: String(r.type_name),
        dealStatusId: optionalNumber(r.deal_status_id),
        dealStatusName: str(r.status_name),
        dealStatusType: str(r.status_type),
        amount: optionalNumber(r.amount),
        currency: str(r.currency),
        externalId: str(r.external_id),
        parameters: parameters.get(id) ?? {},
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
      });
    }
  }
  return out;
}

async function loadParameters(db: Db, dialect: SqlDialect, entityType: string, ids: readonly number[]): Promise<Map<number, ParameterMap>> {
  const rows = await db
    .selectFrom('parameter_values as v')
    .innerJoin('parameters as p', 'p.id', 'v.parameter_id')
    .select(['v.entity_id', 'v.parameter_id', 'v.value', 'p.type'])
    .where('v.entity_type', '=', entityType)
    .where(dialect.idIn('v.entity_id', ids))
    .execute();
  const out = new Map<number, ParameterMap>();
  for (const r of rows) {
    const id = Number(r.entity_id);
    const map = out.get(id) ?? {};
    // Numbers as numbers, everything else as stored (E.164 phones, YYYY-MM-DD dates): see parameter-values.ts.
    map[String(r.parameter_id)] = r.type === 'number' ? Number(r.value) : String(r.value);
    out.set(id, map);
  }
  return out;
}

/** Ids of the clients / deals that point at a changed company or deal status (their details may show its name). */
export async function idsReferencing(db: Db, table: 'clients' | 'deals', column: 'company_id' | 'deal_status_id' | 'deal_type_id', refId: number): Promise<number[]> {
  const rows = await db.selectFrom(table).select('id').where(column, '=', refId).execute();
  return rows.map((r) => Number(r.id));
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
const optionalNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));
