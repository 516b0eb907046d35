import type { RoistatClientRecord, RoistatOrderRecord } from '../../../connectors/roistat/index.js';
import type { RoistatSettings } from './settings.js';

/**
 * The document's ClientDetailsProvider / OrderDetailsProvider, as TypeScript. A provider turns a
 * snapshot of hub data into the record Roistat gets. It is called for every change, so it must be a
 * pure function of the snapshot (no I/O of its own): what it reads must be in the snapshot, or the
 * sync cannot tell when the result would change. Return null to leave the entity out of Roistat.
 */
export interface ClientDetailsProvider {
  clientDetails(client: ClientSnapshot): RoistatClientRecord | null | Promise<RoistatClientRecord | null>;
}

export interface OrderDetailsProvider {
  /** Decides the deal's status too: `status` must be the id of a configured `plugin.roistat.status.<n>`. */
  orderDetails(deal: DealSnapshot): RoistatOrderRecord | null | Promise<RoistatOrderRecord | null>;
}

/** What a provider module gets when it is created. */
export interface ProviderContext {
  settings: RoistatSettings;
  /** For warnings about odd data; never log personal data at info level. */
  log: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

/** Custom parameter values by parameter id (as a string key): text, E.164 phone, email, YYYY-MM-DD date, number. */
export type ParameterMap = Record<string, string | number>;

export interface ClientSnapshot {
  id: number;
  firstName: string | null;
  lastName: string | null;
  middleName: string | null;
  /** Epoch ms (the hub's birth date column). */
  birthDate: number | null;
  email: string | null;
  phone: string | null;
  available: boolean;
  companyId: number | null;
  companyName: string | null;
  externalId: string | null;
  groupIds: number[];
  parameters: ParameterMap;
  createdAt: number;
}

export interface DealSnapshot {
  id: number;
  title: string;
  clientId: number | null;
  companyId: number | null;
  companyName: string | null;
  dealTypeId: number;
  dealTypeName: string;
  dealStatusId: number | null;
  dealStatusName: string | null;
  /** The hub status's group: progress, paid or canceled. */
  dealStatusType: string | null;
  amount: number | null;
  currency: string | null;
  externalId: string | null;
  parameters: ParameterMap;
  createdAt: number;
  updatedAt: number;
}

/** A module named in `...details.provider` exports one of these as `default` (or the named export). */
export type ClientProviderModule = ClientDetailsProvider | ((ctx: ProviderContext) => ClientDetailsProvider | Promise<ClientDetailsProvider>);
export type OrderProviderModule = OrderDetailsProvider | ((ctx: ProviderContext) => OrderDetailsProvider | Promise<OrderDetailsProvider>);
