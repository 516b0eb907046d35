import { Type } from 'typebox';
import type { EntityDef, Row } from '../crud/entity.js';
import { EntityService } from '../crud/service.js';
import { nullable } from '../crud/schemas.js';
import { BookingSchema, clientWithBooking, loadCurrentBookings } from './bookings.js';

const rw = { read: 'directory.read', write: 'directory.write' } as const;
const text = (column: string, filter = false) => ({ column, kind: 'string' as const, filter });
const phone = { column: 'phone', kind: 'phone' as const, filter: true };
const email = { column: 'email', kind: 'email' as const, filter: true };
const externalId = { column: 'external_id', kind: 'string' as const, unique: true, filter: true, description: 'Id in the source system (for upserts by loads and sync)' };

export const companies: EntityDef = {
  name: 'company',
  label: 'Company',
  path: '/companies',
  table: 'companies',
  idField: 'companyId',
  tag: 'companies',
  fields: {
    name: { column: 'name', kind: 'string', required: true, minLength: 1, filter: true },
    inn: { column: 'inn', kind: 'inn', filter: true },
    kpp: { column: 'kpp', kind: 'kpp', filter: true },
    ogrn: { column: 'ogrn', kind: 'ogrn', filter: true },
    address: { column: 'address', kind: 'text', maxLength: 1000 },
    phone,
    email,
    website: text('website'),
    externalId,
  },
  nameFields: ['name', 'inn'],
  permissions: rw,
  // The company's clients and deals lose it and its contacts go, each with its own event: the
  // database's cascades alone would change rows without telling subscribers.
  async beforeDelete(ctx, { trx, existing }) {
    const companyId = Number(existing!.id);
    const idsOf = async (table: string) => (await trx.selectFrom(table).select('id').where('company_id', '=', companyId).execute()).map((r: Row) => Number(r.id));
    const clientService = new EntityService(clients, ctx, () => undefined);
    for (const id of await idsOf('clients')) await clientService.update(id, { companyId: null }, null, trx);
    const dealService = new EntityService(deals, ctx, () => undefined);
    for (const id of await idsOf('deals')) await dealService.update(id, { companyId: null }, null, trx);
    const contactService = new EntityService(contacts, ctx, () => undefined);
    for (const id of await idsOf('contacts')) await contactService.remove(id, null, trx);
    await trx.deleteFrom('parameter_values').where('entity_type', '=', 'company').where('entity_id', '=', companyId).execute();
  },
};

export const contacts: EntityDef = {
  name: 'contact',
  label: 'Contact',
  path: '/contacts',
  table: 'contacts',
  idField: 'contactId',
  tag: 'companies',
  fields: {
    companyId: { column: 'company_id', kind: 'integer', required: true, ref: 'company', filter: true },
    firstName: text('first_name', true),
    lastName: text('last_name', true),
    middleName: text('middle_name'),
    position: text('position'),
    phone,
    email,
  },
  nameFields: ['lastName', 'firstName', 'email', 'phone'],
  permissions: rw,
};

export const clients: EntityDef = {
  name: 'client',
  label: 'Client',
  path: '/clients',
  table: 'clients',
  idField: 'clientId',
  tag: 'clients',
  fields: {
    firstName: text('first_name', true),
    lastName: text('last_name', true),
    middleName: text('middle_name'),
    birthDate: { column: 'birth_date', kind: 'timestamp' },
    available: { column: 'available', kind: 'boolean', default: true, filter: true, description: 'The client agrees to be contacted' },
    email,
    phone,
    companyId: { column: 'company_id', kind: 'integer', ref: 'company', filter: true },
    socialMedia: { column: 'social_media', kind: 'json', description: 'Free-form social network handles' },
    externalId,
  },
  nameFields: ['lastName', 'firstName', 'middleName', 'email', 'phone'],
  extraOutput: {
    communication: nullable(Type.Object({}, { additionalProperties: true, description: 'The latest communication (filled by Communications)' })),
    booking: nullable(BookingSchema),
  },
  permissions: rw,
  fastGet: clientWithBooking,
  async decorate(ctx, items, db) {
    const bookings = await loadCurrentBookings(ctx, db, items.map((i) => i.clientId as number));
    for (const item of items) {
      item.communication = null;
      item.booking = bookings.get(item.clientId as number) ?? null;
    }
  },
  async beforeDelete(_ctx, { trx, existing }) {
    await trx.deleteFrom('parameter_values').where('entity_type', '=', 'client').where('entity_id', '=', existing!.id).execute();
  },
};

export const deals: EntityDef = {
  name: 'deal',
  label: 'Deal',
  path: '/deals',
  table: 'deals',
  idField: 'dealId',
  tag: 'deals',
  fields: {
    title: { column: 'title', kind: 'string', required: true, minLength: 1 },
    clientId: { column: 'client_id', kind: 'integer', ref: 'client', filter: true },
    companyId: { column: 'company_id', kind: 'integer', ref: 'company', filter: true },
    dealTypeId: { column: 'deal_type_id', kind: 'integer', required: true, ref: 'deal_type', filter: true },
    dealStatusId: { column: 'deal_status_id', kind: 'integer', ref: 'deal_status', filter: true },
    amount: { column: 'amount', kind: 'number', minimum: 0 },
    currency: { column: 'currency', kind: 'string', maxLength: 3, minLength: 3, description: 'ISO 4217 code, e.g. RUB' },
    externalId,
  },
  nameFields: ['title'],
  permissions: rw,
  async beforeDelete(_ctx, { trx, existing }) {
    await trx.deleteFrom('parameter_values').where('entity_type', '=', 'deal').where('entity_id', '=', existing!.id).execute();
  },
};
