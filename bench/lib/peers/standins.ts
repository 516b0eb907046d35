// Plugin file for the bench hub: local stand-ins for the three bitrix24.* modules of the 001 example,
// answering from fixed data (no network), so the flow measures Conveyor itself. A plugin's modules
// take precedence over the built-in ones of the same name. Like the modules they stand in for, they
// only read, so they are declared safe.
import { StepFailure, type LocalModule } from '../../../src/flows/index.js';
import { CONTACTS, DEALS } from './data.js';

const field = (input: unknown, key: string) => (input as Record<string, unknown> | null)?.[key];

export const flowModules: LocalModule[] = [
  { name: 'bitrix24.find-contact', safe: true, run: (input) => ({ ID: CONTACTS[String(field(input, 'phone'))] ?? null }) },
  {
    name: 'bitrix24.find-deal',
    safe: true,
    run: (input) => {
      const deal = DEALS[String(field(input, 'contactId'))];
      return { value: deal ? { ID: deal.ID } : null };
    },
  },
  {
    name: 'bitrix24.get-deal',
    safe: true,
    run: (input) => {
      const deal = Object.values(DEALS).find((d) => d.ID === String(field(input, 'id')));
      if (!deal) throw new StepFailure('BITRIX24_NOT_FOUND', `deal ${String(field(input, 'id'))} not found`);
      return deal;
    },
  },
];
