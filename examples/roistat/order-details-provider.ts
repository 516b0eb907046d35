/**
 * An example deal details provider (the document's OrderDetailsProvider) for the Roistat sync.
 *
 * Use it with:
 *   plugin.roistat.order.process.types=1
 *   plugin.roistat.order.details.provider=examples/roistat/order-details-provider.ts
 *   plugin.roistat.status.1.id=new        plugin.roistat.status.1.title=New
 *   plugin.roistat.status.2.id=paid       plugin.roistat.status.2.title=Paid      plugin.roistat.status.2.type=paid
 *   plugin.roistat.status.3.id=lost       plugin.roistat.status.3.title=Lost      plugin.roistat.status.3.type=canceled
 *   plugin.roistat.status.4.id=free       plugin.roistat.status.4.title=Free      plugin.roistat.status.4.type=canceled
 *
 * The point of a provider is that the Roistat status need not be the hub's: here it depends on the
 * hub status's group AND the amount (a "paid" deal of zero is a giveaway, not revenue). A provider is a
 * pure function of the snapshot: the sync rebuilds it on every change and sends it only if the result
 * differs from the last one, so anything the result depends on must come from the snapshot.
 */
import type { DealSnapshot, OrderDetailsProvider, ProviderContext } from '../../src/sync/index.js';

export default function createOrderDetailsProvider(ctx: ProviderContext): OrderDetailsProvider {
  const configured = new Set(ctx.settings.statuses.map((s) => s.id));
  for (const id of ['new', 'paid', 'lost', 'free']) {
    if (!configured.has(id)) ctx.log.warn({ status: id }, `example deal provider: status "${id}" is not configured; deals that need it will be errored`);
  }
  return {
    orderDetails(deal: DealSnapshot) {
      if (deal.title.startsWith('TEST ')) return null; // test deals stay out of the marketing figures
      return {
        id: String(deal.id),
        name: deal.title,
        date_create: Math.floor(deal.createdAt / 1000),
        status: statusOf(deal),
        price: deal.amount === null ? undefined : String(deal.amount),
        client_id: deal.clientId === null ? undefined : String(deal.clientId),
        // Roistat keys extra fields by their human-readable name.
        fields: { 'Deal type': deal.dealTypeName, ...(deal.parameters['7'] ? { Manager: String(deal.parameters['7']) } : {}) },
      };
    },
  };
}

function statusOf(deal: DealSnapshot): string {
  switch (deal.dealStatusType) {
    case 'paid':
      return (deal.amount ?? 0) > 0 ? 'paid' : 'free';
    case 'canceled':
      return 'lost';
    default:
      return 'new';
  }
}
