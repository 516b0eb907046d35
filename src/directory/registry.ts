import type { HubContext } from '../platform/context.js';
import type { EntityDef } from './crud/entity.js';
import { EntityService } from './crud/service.js';
import { bookings } from './entities/bookings.js';
import { channelBlocks, documents, rules } from './entities/comms.js';
import { clients, companies, contacts, deals } from './entities/customers.js';
import { parameters } from './entities/parameters.js';
import { employees, roles } from './entities/people.js';
import { bookingStatusTypes, clientGroups, communicationTypes, dealStatuses, dealTypes, departments, sendChannelTypes } from './entities/reference.js';

export const ENTITIES: EntityDef[] = [
  communicationTypes,
  sendChannelTypes,
  bookingStatusTypes,
  departments,
  roles,
  employees,
  companies,
  contacts,
  clientGroups,
  clients,
  dealTypes,
  dealStatuses,
  deals,
  parameters,
  rules,
  documents,
  bookings,
  channelBlocks,
];

export type DirectoryServices = Record<string, EntityService>;

/** One service per entity, keyed by entity name (`client`, `employee`, …). */
export function createDirectoryServices(ctx: HubContext): DirectoryServices {
  const byName = new Map(ENTITIES.map((e) => [e.name, e]));
  const services: DirectoryServices = {};
  for (const def of ENTITIES) services[def.name] = new EntityService(def, ctx, (n) => byName.get(n));
  return services;
}
