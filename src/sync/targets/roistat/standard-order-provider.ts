import type { RoistatOrderRecord } from '../../../connectors/roistat/index.js';
import type { DealSnapshot, OrderDetailsProvider } from './providers.js';

/**
 * The built-in `standard` deal provider: the hub deal as it is. Its status is the hub deal status id,
 * so configure `plugin.roistat.status.<n>.id` with the hub's deal status ids. A deal without a status
 * is sent without one. Write your own provider when the Roistat status depends on more than that
 * (see examples/roistat/order-details-provider.ts).
 */
export function createStandardOrderProvider(): OrderDetailsProvider {
  return {
    orderDetails(deal: DealSnapshot): RoistatOrderRecord {
      const record: RoistatOrderRecord = {
        id: String(deal.id),
        name: deal.title,
        // UNIX seconds: a bare "YYYY-MM-DD HH:MM" would be read as UTC by Roistat.
        date_create: Math.floor(deal.createdAt / 1000),
      };
      if (deal.dealStatusId !== null) record.status = String(deal.dealStatusId);
      if (deal.amount !== null) record.price = String(deal.amount);
      if (deal.clientId !== null) record.client_id = String(deal.clientId);
      const fields: Record<string, string> = { type: deal.dealTypeName };
      if (deal.currency) fields.currency = deal.currency;
      if (deal.companyName) fields.company = deal.companyName;
      record.fields = fields;
      return record;
    },
  };
}
