import type { RoistatClientRecord } from '../../../connectors/roistat/index.js';
import type { ClientDetailsProvider, ClientSnapshot } from './providers.js';
import type { RoistatSettings } from './settings.js';

type CommonMapping = RoistatSettings['clients']['common'];

/**
 * The document's CommonClientDetailsProvider: phone, email, company, birth date and extra fields come
 * from the client's custom parameters named by `plugin.roistat.client.details.common.customer.*`.
 * Where a key is not configured, the hub's own client field is used instead (the hub, unlike the
 * ERP, keeps phone, email, company and birth date on the client itself).
 */
export function createCommonClientProvider(mapping: CommonMapping): ClientDetailsProvider {
  const fieldEntries = Object.entries(mapping.fields);
  return {
    clientDetails(client: ClientSnapshot): RoistatClientRecord {
      const param = (id: number | undefined) => (id === undefined ? undefined : client.parameters[String(id)]);
      const pick = (id: number | undefined, own: string | null) => {
        if (id === undefined) return own;
        const value = param(id);
        return value === undefined ? null : String(value);
      };
      const record: RoistatClientRecord = {
        id: String(client.id),
        name: displayName(client),
        phone: pick(mapping.phone, client.phone),
        email: pick(mapping.email, client.email),
        company: pick(mapping.company, client.companyName),
        birth_date: pick(mapping.birthDate, client.birthDate === null ? null : new Date(client.birthDate).toISOString().slice(0, 10)),
      };
      if (fieldEntries.length > 0) {
        const fields: Record<string, string> = {};
        for (const [name, id] of fieldEntries) {
          const value = param(id);
          if (value !== undefined) fields[name] = String(value);
        }
        record.fields = fields;
      }
      return record;
    },
  };
}

/** Roistat requires a name: the full name, else a contact, else the hub id. */
function displayName(c: ClientSnapshot): string {
  const full = [c.lastName, c.firstName, c.middleName].filter((p) => p && p.trim()).join(' ');
  return full || c.email || c.phone || `Client ${c.id}`;
}
