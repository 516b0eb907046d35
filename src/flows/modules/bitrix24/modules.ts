import type { Bitrix24Client } from '../../../connectors/bitrix24/index.js';
import { failOnBadOptions, StepFailure } from '../../runtime/local.js';
import type { LocalModule, StepCall } from '../../runtime/module.js';
import { isRecord } from '../template.js';
import { BITRIX24_OPTION_PROBLEMS, type Bitrix24ModuleName } from './names.js';
import { asStepFailure } from './portal.js';

/** The client, or a step failure saying why there is none (no `flows.bitrix24` in the config). */
export type ClientSource = () => Bitrix24Client;

/** Bitrix24 field names: `TITLE`, `SOURCE_ID`, `UF_CRM_1234`. Anything else in a lead is a mapping mistake. */
const FIELD_NAME = /^[A-Z][A-Z0-9_]*$/;

const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() : '');
const inputOf = (input: unknown) => (isRecord(input) ? input : {});

function requireId(module: string, value: unknown, path: string): number {
  const id = Number(text(value));
  if (!Number.isInteger(id) || id <= 0) throw new StepFailure('BAD_INPUT', `${module}: input.${path} must be a CRM id (a positive integer), got ${JSON.stringify(value ?? null)}`);
  return id;
}

type Body = (client: Bitrix24Client, input: Record<string, unknown>, call: StepCall) => Promise<unknown>;

/** Runs `body` with the client; connector errors become StepFailures with the Bitrix24 message. */
function bitrix24Module(name: Bitrix24ModuleName, client: ClientSource, body: Body, { reads = false } = {}): LocalModule {
  const optionProblems = BITRIX24_OPTION_PROBLEMS[name];
  return {
    name,
    // A read changes nothing in the portal: a waiting request may call it before its run is written.
    safe: reads,
    optionProblems,
    async run(input, call) {
      failOnBadOptions(name, optionProblems(call.options));
      const c = client();
      try {
        return await body(c, inputOf(input), call);
      } catch (err) {
        throw asStepFailure(name, err);
      }
    },
  };
}

/**
 * `bitrix24.find-contact`: input `{phone?, email?}`. The oldest contact with exactly that phone (as the
 * portal stores it: normalise first with `transform`'s `phone` op), else with that e-mail; `{ID: null}`
 * when there is none, so routes can test `<step>.ID` with `empty`.
 */
export const findContact = (client: ClientSource) =>
  bitrix24Module('bitrix24.find-contact', client, async (c, input, call) => {
    const phone = text(input.phone);
    const email = text(input.email);
    if (!phone && !email) throw new StepFailure('BAD_INPUT', 'bitrix24.find-contact: the input has neither phone nor email (map them in the step\'s input, e.g. phone: request.phone)');
    let found = phone ? await c.findContactByPhone(phone) : [];
    if (found.length === 0 && email) found = await c.findContactByEmail(email);
    return found[0] ?? { ID: null };
  }, { reads: true });

/**
 * `bitrix24.find-deal`: input `{contactId?, filter?}`, options `{filter?, order?, select?}`. The newest deal
 * (by default) of the contact matching both filters, as `{value: deal}`, or `{value: null}`. Without a
 * contact id and without any filter there is nothing to look for: `{value: null}` and no call.
 */
export const findDeal = (client: ClientSource) =>
  bitrix24Module('bitrix24.find-deal', client, async (c, input, call) => {
    const { filter: staticFilter = {}, order = { ID: 'DESC' }, select } = call.options;
    if (input.filter !== undefined && !isRecord(input.filter)) throw new StepFailure('BAD_INPUT', 'bitrix24.find-deal: input.filter must be a mapping');

    const filter: Record<string, unknown> = { ...(staticFilter as Record<string, unknown>), ...(input.filter as Record<string, unknown> | undefined) };
    const contact = text(input.contactId);
    if (contact) filter.CONTACT_ID = requireId('bitrix24.find-deal', contact, 'contactId');
    if (Object.keys(filter).length === 0) return { value: null };
    const [deal] = await c.findDeals({ filter, order: order as Record<string, 'ASC' | 'DESC'>, select: select as string[] | undefined, limit: 1 });
    return { value: deal ?? null };
  }, { reads: true });

/** `bitrix24.get-deal`: input `{id}`. The deal; a deal that does not exist fails the step (BITRIX24_NOT_FOUND, not retried). */
export const getDeal = (client: ClientSource) =>
  bitrix24Module('bitrix24.get-deal', client, async (c, input, call) => {
    const id = requireId('bitrix24.get-deal', input.id, 'id');
    const deal = await c.getDeal(id);
    if (!deal) throw new StepFailure('BITRIX24_NOT_FOUND', `bitrix24.get-deal: deal ${id} does not exist`);
    return deal;
  }, { reads: true });

/**
 * `bitrix24.add-lead` and `bitrix24.add-deal`: the input is the record's fields (`TITLE`, `NAME`, `PHONE`,
 * `CONTACT_ID`, `OPPORTUNITY`, `UF_…`), laid over `options.fields`. PHONE/EMAIL may be plain strings.
 * ORIGINATOR_ID (`flows.bitrix24.originator`) and ORIGIN_ID (the step's idempotency key) make a retried
 * or re-delivered step find its record instead of adding a second one, unless the input brings its own
 * pair. Output `{id, created}`.
 */
const addRecord = (entity: 'lead' | 'deal') => (client: ClientSource, originator: string) => {
  const name = `bitrix24.add-${entity}` as const;
  return bitrix24Module(name, client, async (c, input, call) => {
    const defaults = (call.options.fields ?? {}) as Record<string, unknown>;
    const fields = fieldsOf(name, { ...defaults, ...input }, entity);
    if (!text(fields.ORIGINATOR_ID) || !text(fields.ORIGIN_ID)) {
      fields.ORIGINATOR_ID = originator;
      fields.ORIGIN_ID = call.idempotencyKey;
    }
    return entity === 'lead' ? c.addLead(fields) : c.addDeal(fields);
  });
};
export const addLead = addRecord('lead');
export const addDeal = addRecord('deal');

/**
 * `bitrix24.update-deal`: input `{id, <FIELD>: value, …}` (a step's input maps names to paths, so the
 * fields sit beside the id), laid over `options.fields`. PHONE/EMAIL items without an ID are appended,
 * as in Bitrix24. Output `{id, updated: true}`.
 */
export const updateDeal = (client: ClientSource) =>
  bitrix24Module('bitrix24.update-deal', client, async (c, input, call) => {
    const defaults = (call.options.fields ?? {}) as Record<string, unknown>;
    const { id: rawId, ...rest } = input;
    const id = requireId('bitrix24.update-deal', rawId, 'id');
    const fields = fieldsOf('bitrix24.update-deal', { ...defaults, ...rest }, 'deal');
    if (Object.keys(fields).length === 0) throw new StepFailure('BAD_INPUT', 'bitrix24.update-deal: no fields to write (map deal fields such as STAGE_ID beside id in the step\'s input, or set options.fields)');
    await c.updateDeal(id, fields);
    return { id, updated: true };
  });

/** Checks field names and turns plain PHONE/EMAIL strings into the multifield form Bitrix24 expects. */
function fieldsOf(module: string, fields: Record<string, unknown>, entity: string): Record<string, unknown> {
  const wrong = Object.keys(fields).filter((k) => !FIELD_NAME.test(k));
  if (wrong.length > 0) {
    throw new StepFailure('BAD_INPUT', `${module}: ${wrong.map((k) => `"${k}"`).join(', ')} ${wrong.length > 1 ? 'are not Bitrix24 field names' : 'is not a Bitrix24 field name'} (map the step's input to ${entity} fields such as TITLE, NAME, PHONE)`);
  }
  const out = { ...fields };
  for (const key of ['PHONE', 'EMAIL']) {
    if (typeof out[key] === 'string') {
      if (out[key]) out[key] = [{ VALUE: out[key], VALUE_TYPE: 'WORK' }];
      else delete out[key];
    }
  }
  return out;
}
