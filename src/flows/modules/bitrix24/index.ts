// The Bitrix24 modules of flows: find contact, find/get/add/update deal, add lead, over the Bitrix24 connector.
import type { Bitrix24Client } from '../../../connectors/bitrix24/index.js';
import { StepFailure } from '../../runtime/local.js';
import type { LocalModule } from '../../runtime/module.js';
import { addDeal, addLead, findContact, findDeal, getDeal, updateDeal } from './modules.js';
import { createPortalClient, type Bitrix24ModuleDeps, type Bitrix24ModuleSettings } from './portal.js';

export type { Bitrix24ModuleSettings, Bitrix24ModuleDeps } from './portal.js';

export { BITRIX24_MODULE_NAMES } from './names.js';

/**
 * The six modules over one client (one leaky bucket per portal, shared by every module and every client
 * of that portal in the process). Settings are checked and the client built here, without I/O, so a bad
 * `flows.bitrix24` stops the start with every problem listed. Without settings the modules still exist
 * (flows using them load) and each call fails, not retried, naming the missing config.
 */
export function createBitrix24Modules(settings: Bitrix24ModuleSettings | undefined, deps: Bitrix24ModuleDeps = {}): LocalModule[] {
  const client: Bitrix24Client | undefined = settings ? createPortalClient(settings, deps) : undefined;
  const source = () => {
    if (!client) throw new StepFailure('BITRIX24_NOT_CONFIGURED', 'Bitrix24 is not configured: set flows.bitrix24.webhookUrl (or portalUrl + accessToken) in the config');
    return client;
  };
  const originator = settings?.originator ?? 'conveyor';
  return [findContact(source), findDeal(source), getDeal(source), addLead(source, originator), addDeal(source, originator), updateDeal(source)];
}
