import { Bitrix24RequestError } from './errors.js';
import type { Bitrix24Caller } from './transport.js';
import type { Bitrix24Contact, Bitrix24Deal, Bitrix24ListParams } from './types.js';

/** The CRM operations flow modules use (find contact, find/get/add/update deal, add lead). */
export interface Bitrix24Crm {
  /**
   * Contacts whose PHONE equals `phone` exactly, oldest first. Bitrix24 compares the whole stored string
   * (extensions ignored), so pass the number in the form the portal stores, ideally E.164.
   */
  findContactByPhone(phone: string): Promise<Bitrix24Contact[]>;
  /** Contacts whose EMAIL equals `email` exactly, oldest first. */
  findContactByEmail(email: string): Promise<Bitrix24Contact[]>;
  /** `crm.deal.list`, following pages up to `limit` rows (default 50). */
  findDeals(query?: Bitrix24ListParams & { limit?: number }): Promise<Bitrix24Deal[]>;
  /** `crm.deal.get`; null when the deal does not exist. */
  getDeal(id: number | string): Promise<Bitrix24Deal | null>;
  /**
   * `crm.lead.add`. When `fields` carry both ORIGINATOR_ID (our system's name) and ORIGIN_ID (the record's id
   * there), an existing lead with the same pair is returned instead (`created: false`): Bitrix24 itself does
   * not block duplicates, so this is what makes a retried add safe.
   */
  addLead(fields: Record<string, unknown>, opts?: { registerSonetEvent?: boolean }): Promise<{ id: number; created: boolean }>;
  /** `crm.deal.add`, idempotent by ORIGINATOR_ID + ORIGIN_ID exactly as addLead. */
  addDeal(fields: Record<string, unknown>, opts?: { registerSonetEvent?: boolean }): Promise<{ id: number; created: boolean }>;
  /**
   * `crm.deal.update`. Beware: PHONE/EMAIL items without an ID are APPENDED (reference §4.1).
   */
  updateDeal(id: number | string, fields: Record<string, unknown>, opts?: { registerSonetEvent?: boolean }): Promise<void>;
}

/** Multifields are not part of `*`: they must be named (reference §3.4). */
const CONTACT_SELECT = ['*', 'UF_*', 'PHONE', 'EMAIL'];
/** Bound on one lookup, so a phone shared by thousands of contacts cannot exhaust memory. */
const MAX_CONTACTS = 500;

export function createCrm(caller: Bitrix24Caller): Bitrix24Crm {
  async function findContacts(type: 'PHONE' | 'EMAIL', value: string): Promise<Bitrix24Contact[]> {
    const needle = typeof value === 'string' ? value.trim() : '';
    if (!needle) throw new TypeError(`Bitrix24: ${type === 'PHONE' ? 'phone' : 'e-mail'} to look up is empty`);
    const found = await caller.call<unknown>('crm.duplicate.findbycomm', { type, values: [needle], entity_type: 'CONTACT' });
    // `{"CONTACT":[275,2297]}`, or `[]` (an empty PHP array) when nothing matches.
    const ids = found && typeof found === 'object' && !Array.isArray(found) ? (found as { CONTACT?: unknown }).CONTACT : undefined;
    if (!Array.isArray(ids) || ids.length === 0) return [];
    // One list call for all ids instead of one crm.contact.get per id.
    return caller.listAll<Bitrix24Contact>(
      'crm.contact.list',
      { filter: { '@ID': ids.map(Number) }, select: CONTACT_SELECT, order: { ID: 'ASC' } },
      { maxItems: MAX_CONTACTS },
    );
  }

  /** Adds a lead or deal, unless one with the same ORIGINATOR_ID + ORIGIN_ID pair exists already. */
  async function addOnce(entity: 'lead' | 'deal', fields: Record<string, unknown>, opts: { registerSonetEvent?: boolean }): Promise<{ id: number; created: boolean }> {
    const originator = fields.ORIGINATOR_ID;
    const origin = fields.ORIGIN_ID;
    if (originator !== undefined && origin !== undefined && originator !== '' && origin !== '') {
      const existing = await caller.call<Array<{ ID: string }>>(`crm.${entity}.list`, {
        filter: { '=ORIGINATOR_ID': String(originator), '=ORIGIN_ID': String(origin) },
        select: ['ID'],
        order: { ID: 'ASC' },
        start: -1, // no COUNT(*): we need one row
      });
      if (Array.isArray(existing) && existing.length > 0) return { id: Number(existing[0].ID), created: false };
    }
    const id = await caller.call<number | string>(`crm.${entity}.add`, {
      fields,
      params: { REGISTER_SONET_EVENT: opts.registerSonetEvent === false ? 'N' : 'Y' },
    });
    return { id: Number(id), created: true };
  }

  return {
    findContactByPhone: (phone) => findContacts('PHONE', phone),
    findContactByEmail: (email) => findContacts('EMAIL', email),

    async findDeals(query = {}) {
      const { limit = 50, ...params } = query;
      return caller.listAll<Bitrix24Deal>('crm.deal.list', { order: { ID: 'ASC' }, ...params }, { maxItems: limit });
    },

    async getDeal(id) {
      try {
        return await caller.call<Bitrix24Deal>('crm.deal.get', { id: positiveId(id) });
      } catch (error) {
        if (error instanceof Bitrix24RequestError && error.notFound) return null;
        throw error;
      }
    },

    addLead: (fields, opts = {}) => addOnce('lead', fields, opts),
    addDeal: (fields, opts = {}) => addOnce('deal', fields, opts),

    async updateDeal(id, fields, opts = {}) {
      const params: Record<string, unknown> = { id: positiveId(id), fields };
      if (opts.registerSonetEvent !== undefined) params.params = { REGISTER_SONET_EVENT: opts.registerSonetEvent ? 'Y' : 'N' };
      await caller.call('crm.deal.update', params);
    },
  };
}

function positiveId(id: number | string): number {
  const n = Number(id);
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`Bitrix24: "${String(id)}" is not a valid CRM id`);
  return n;
}
