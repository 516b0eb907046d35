// The fixed CRM data every system's stand-ins answer from, and the request bodies the load cycles
// through — one per route of the 001 example, so every system runs every branch in equal shares.

/** phone → contact ID */
export const CONTACTS: Record<string, string> = { '+79990000001': '11', '+79990000002': '12' };
/** contact ID → deal */
export const DEALS: Record<string, { ID: string; CONTACT_ID: string; TITLE: string; STAGE_ID: string }> = {
  '11': { ID: '501', CONTACT_ID: '11', TITLE: 'Sofa', STAGE_ID: 'NEW' },
};
export const LEAD_DEFAULTS = { SOURCE_ID: 'WEB', TITLE: 'Request from the site' };

/** Deal found → get deal by id; contact without deal → straight on; unknown phone → lead defaults. */
export const REQUEST_BODIES = [
  { phone: '+79990000001', email: 'a@example.com' },
  { phone: '+79990000002', email: 'b@example.com' },
  { phone: '+70000000000', email: 'c@example.com' },
];

/** Remote module names may not clash with the built-in bitrix24.* ones, so the NATS flow uses these
 *  (no dots: the config loader reads a dotted key under flows.modules as a nested path). */
export const natsName = (name: string) => name.replace(/^bitrix24\./, 'bench-');
