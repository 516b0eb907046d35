/**
 * The CRM part of the Bitrix24 emulator: contacts, leads and deals in memory with PHONE/EMAIL multifields,
 * the documented list semantics (filter prefixes, select, order, 50-row pages with next/total) and the
 * add/get/update/findbycomm methods. Behaviour follows /work/shared/reference/bitrix24-api.md.
 */

export class ApiError {
  constructor(
    readonly httpStatus: number,
    readonly error: string,
    readonly description: string,
  ) {}
}

export type Params = Record<string, unknown>;
export type Row = Record<string, unknown> & { ID: string };
export type EntityKind = 'contact' | 'lead' | 'deal';
export interface MethodReply {
  result: unknown;
  total?: number;
  next?: number;
}

const COMMON = ['ASSIGNED_BY_ID', 'COMMENTS', 'OPENED', 'SOURCE_ID', 'ORIGINATOR_ID', 'ORIGIN_ID', 'CREATED_BY_ID', 'MODIFY_BY_ID'];
const FIELDS: Record<EntityKind, string[]> = {
  contact: ['NAME', 'SECOND_NAME', 'LAST_NAME', 'HONORIFIC', 'POST', 'TYPE_ID', 'COMPANY_ID', 'BIRTHDATE', 'HAS_PHONE', 'HAS_EMAIL', ...COMMON],
  lead: ['TITLE', 'NAME', 'SECOND_NAME', 'LAST_NAME', 'STATUS_ID', 'SOURCE_DESCRIPTION', 'CONTACT_ID', 'COMPANY_ID', 'OPPORTUNITY', 'CURRENCY_ID', 'UTM_SOURCE', 'UTM_MEDIUM', 'UTM_CAMPAIGN', ...COMMON],
  deal: ['TITLE', 'TYPE_ID', 'CATEGORY_ID', 'STAGE_ID', 'OPPORTUNITY', 'CURRENCY_ID', 'CONTACT_ID', 'COMPANY_ID', 'LEAD_ID', 'CLOSED', 'BEGINDATE', 'CLOSEDATE', ...COMMON],
};
const DEFAULTS: Record<EntityKind, Params> = {
  contact: { OPENED: 'Y', TYPE_ID: 'CLIENT' },
  lead: { STATUS_ID: 'NEW', OPENED: 'Y', CURRENCY_ID: 'RUB' },
  deal: { STAGE_ID: 'NEW', CATEGORY_ID: '0', OPPORTUNITY: '0.00', CURRENCY_ID: 'RUB', OPENED: 'Y', CLOSED: 'N' },
};
const SYSTEM = ['ID', 'DATE_CREATE', 'DATE_MODIFY'];
/** Deals have no multifields; contacts and leads do. */
const MULTI: Record<EntityKind, string[]> = { contact: ['PHONE', 'EMAIL', 'WEB', 'IM'], lead: ['PHONE', 'EMAIL', 'WEB', 'IM'], deal: [] };
export const PAGE_SIZE = 50;

export class CrmStore {
  readonly rows: Record<EntityKind, Map<number, Row>> = { contact: new Map(), lead: new Map(), deal: new Map() };
  private nextId: Record<EntityKind, number> = { contact: 1, lead: 1, deal: 1 };
  private nextMultiId = 1;

  constructor(private readonly now: () => number) {}

  add(kind: EntityKind, fields: unknown): number {
    const input = fieldsOf(fields);
    const id = this.nextId[kind]++;
    const stamp = isoDate(this.now());
    const row: Row = { ID: String(id), DATE_CREATE: stamp, DATE_MODIFY: stamp, CREATED_BY_ID: '1', MODIFY_BY_ID: '1' };
    for (const f of FIELDS[kind]) row[f] = null;
    Object.assign(row, DEFAULTS[kind]);
    this.apply(kind, row, input);
    this.rows[kind].set(id, row);
    return id;
  }

  get(kind: EntityKind, rawId: unknown): Row {
    const row = this.rows[kind].get(idOf(rawId));
    if (!row) throw new ApiError(400, '', 'Not found');
    return structuredClone(row);
  }

  update(kind: EntityKind, rawId: unknown, fields: unknown): true {
    const id = idOf(rawId);
    const input = fieldsOf(fields);
    const row = this.rows[kind].get(id);
    if (!row) throw new ApiError(400, '', 'Not found');
    const copy = structuredClone(row);
    this.apply(kind, copy, input); // validate fully before changing anything
    copy.DATE_MODIFY = isoDate(this.now());
    this.rows[kind].set(id, copy);
    return true;
  }

  list(kind: EntityKind, params: Params): MethodReply {
    const filter = params.filter ?? {};
    if (!isObject(filter)) throw new ApiError(400, '', "Parameter 'filter' must be array.");
    const order = params.order ?? { ID: 'ASC' };
    if (!isObject(order)) throw new ApiError(400, '', "Parameter 'order' must be array.");
    const select = params.select === undefined ? ['*', 'UF_*'] : params.select;
    if (!Array.isArray(select)) throw new ApiError(400, '', "Parameter 'select' must be array.");

    const conditions = Object.entries(filter).map(([key, value]) => parseCondition(key, value));
    const rows = [...this.rows[kind].values()].filter((row) => conditions.every((c) => c(row)));
    rows.sort(comparator(order));
    const start = Number(params.start ?? 0);
    const picked = (r: Row) => project(kind, r, select.map(String));
    if (start === -1) return { result: rows.slice(0, PAGE_SIZE).map(picked) }; // no COUNT(*), no next
    const from = Number.isInteger(start) && start > 0 ? start : 0;
    const page = rows.slice(from, from + PAGE_SIZE).map(picked);
    const reply: MethodReply = { result: page, total: rows.length };
    if (from + PAGE_SIZE < rows.length) reply.next = from + PAGE_SIZE;
    return reply;
  }

  /** crm.duplicate.findbycomm: exact match on the whole stored string (reference §6.1). */
  findByComm(params: Params): unknown {
    const type = String(params.type ?? '').toUpperCase();
    if (type !== 'PHONE' && type !== 'EMAIL') throw new ApiError(400, '', 'Parameter "type" is invalid. Must be PHONE or EMAIL.');
    const values = (Array.isArray(params.values) ? params.values : [params.values]).filter((v) => v !== undefined).map(String);
    if (values.length === 0) throw new ApiError(400, '', 'Parameter "values" is empty.');
    if (values.length > 20) throw new ApiError(400, '', 'Too many values. Max allowed count is 20.');
    const wanted = params.entity_type === undefined ? undefined : String(params.entity_type).toUpperCase();
    const out: Record<string, number[]> = {};
    for (const [kind, name] of [['lead', 'LEAD'], ['contact', 'CONTACT']] as const) {
      if (wanted && wanted !== name) continue;
      const ids = [...this.rows[kind].values()]
        .filter((r) => multi(r[type]).some((m) => values.includes(m.VALUE)))
        .map((r) => Number(r.ID));
      if (ids.length > 0) out[name] = ids;
    }
    // At 20 or more hits of one type, the other types are left out (reference §6.1).
    const big = Object.keys(out).find((k) => out[k].length >= 20);
    if (big) return { [big]: out[big] };
    return Object.keys(out).length === 0 ? [] : out;
  }

  /** Writes `input` into `row` with Bitrix24's rules: unknown fields ignored, multifields appended/changed/deleted. */
  private apply(kind: EntityKind, row: Row, input: Params) {
    for (const [key, value] of Object.entries(input)) {
      if (MULTI[kind].includes(key)) {
        row[key] = this.mergeMulti(key, multi(row[key]), value);
      } else if (FIELDS[kind].includes(key) || key.startsWith('UF_')) {
        row[key] = value === null || value === undefined ? null : typeof value === 'object' ? value : String(value);
      }
      // Anything else is silently ignored, as Bitrix24 does (reference §3.1).
    }
    if (kind === 'contact') {
      row.HAS_PHONE = multi(row.PHONE).length > 0 ? 'Y' : 'N';
      row.HAS_EMAIL = multi(row.EMAIL).length > 0 ? 'Y' : 'N';
    }
  }

  private mergeMulti(type: string, existing: MultiItem[], sent: unknown): MultiItem[] {
    const items = Array.isArray(sent) ? sent : isObject(sent) ? Object.values(sent) : [];
    const out = existing.map((m) => ({ ...m }));
    for (const raw of items) {
      if (!isObject(raw)) throw new ApiError(400, '', `Field '${type}' must contain objects.`);
      const value = raw.VALUE === undefined || raw.VALUE === null ? '' : String(raw.VALUE);
      if (raw.ID !== undefined && raw.ID !== null && raw.ID !== '') {
        const at = out.findIndex((m) => m.ID === String(raw.ID));
        if (at < 0) continue;
        if (raw.DELETE === 'Y' || value === '') out.splice(at, 1);
        else out[at] = { ...out[at], VALUE: value, VALUE_TYPE: String(raw.VALUE_TYPE ?? out[at].VALUE_TYPE) };
        continue;
      }
      if (value === '') continue;
      if (type === 'EMAIL' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
        throw new ApiError(400, 'ERROR_CORE', `Invalid e-mail address: ${value}`);
      }
      out.push({ ID: String(this.nextMultiId++), VALUE_TYPE: String(raw.VALUE_TYPE ?? 'WORK'), VALUE: value, TYPE_ID: type });
    }
    return out;
  }
}

interface MultiItem {
  ID: string;
  VALUE_TYPE: string;
  VALUE: string;
  TYPE_ID: string;
}

function multi(v: unknown): MultiItem[] {
  return Array.isArray(v) ? (v as MultiItem[]) : [];
}

function isObject(v: unknown): v is Params {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function fieldsOf(fields: unknown): Params {
  if (!isObject(fields)) throw new ApiError(400, '', "Parameter 'fields' must be array.");
  return fields;
}

function idOf(raw: unknown): number {
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) throw new ApiError(400, '', 'ID is not defined or invalid.');
  return id;
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function project(kind: EntityKind, row: Row, select: string[]): Row {
  const out: Row = { ID: row.ID };
  const all = select.includes('*');
  for (const f of [...SYSTEM, ...FIELDS[kind]]) if (all || select.includes(f)) out[f] = row[f] ?? null;
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('UF_') && (select.includes('UF_*') || select.includes(k))) out[k] = v;
  }
  // Multifields are never part of '*': only when named (reference §3.4).
  for (const f of MULTI[kind]) if (select.includes(f) && multi(row[f]).length > 0) out[f] = row[f];
  return out;
}

const PREFIXES = ['>=', '<=', '!@', '!=', '=%', '%=', '!%', '>', '<', '@', '%', '=', '!'] as const;

/** One filter entry (`'>=OPPORTUNITY': 100`) as a row predicate, following the documented prefixes. */
function parseCondition(key: string, expected: unknown): (row: Row) => boolean {
  const prefix = PREFIXES.find((p) => key.startsWith(p)) ?? '';
  const field = key.slice(prefix.length);
  const wanted = Array.isArray(expected) ? expected.map(String) : [String(expected ?? '')];
  const test = (actual: string | null): boolean => {
    const a = actual ?? '';
    switch (prefix) {
      case '':
      case '=':
      case '@':
        return wanted.some((w) => compare(a, w) === 0);
      case '!':
      case '!=':
      case '!@':
        return !wanted.some((w) => compare(a, w) === 0);
      case '>':
        return actual !== null && compare(a, wanted[0]) > 0;
      case '>=':
        return actual !== null && compare(a, wanted[0]) >= 0;
      case '<':
        return actual !== null && compare(a, wanted[0]) < 0;
      case '<=':
        return actual !== null && compare(a, wanted[0]) <= 0;
      case '%':
        return a.toLowerCase().includes(wanted[0].toLowerCase());
      case '!%':
        return !a.toLowerCase().includes(wanted[0].toLowerCase());
      case '=%':
      case '%=':
        return like(a, wanted[0]);
    }
  };
  return (row) => {
    const value = row[field];
    if (Array.isArray(value)) {
      // Multifields (PHONE, EMAIL): a row matches when any of its values does; exact match only.
      const values = multi(value).map((m) => m.VALUE);
      const negated = prefix.startsWith('!');
      return negated ? values.every((v) => test(v)) : values.some((v) => test(v));
    }
    if (!(field in row) && !SYSTEM.includes(field)) return true; // unknown filter fields are ignored
    return test(value === null || value === undefined ? null : String(value));
  };
}

function like(value: string, pattern: string): boolean {
  const re = pattern
    .split('%')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/_/g, '.'))
    .join('.*');
  return new RegExp(`^${re}$`, 'is').test(value);
}

/** Numbers compare as numbers (ids, sums), everything else as strings (ISO dates sort correctly). */
function compare(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparator(order: Params): (a: Row, b: Row) => number {
  const keys = Object.entries(order).map(([k, dir]) => [k, String(dir).toUpperCase() === 'DESC' ? -1 : 1] as const);
  return (a, b) => {
    for (const [k, dir] of keys) {
      const c = compare(String(a[k] ?? ''), String(b[k] ?? ''));
      if (c !== 0) return c * dir;
    }
    return Number(a.ID) - Number(b.ID);
  };
}
