import type { Principal } from '../../platform/auth/index.js';
import type { HubContext } from '../../platform/context.js';
import type { Db } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors/index.js';
import type { EntityService } from '../crud/service.js';
import { checkParameterValue, readParameterValue, type ParameterInfo } from './parameter-values.js';

export type ParameterValues = Record<string, string | number>;

/** Every value set on one record, keyed by parameter id. */
export async function readParameterValues(db: Db, entityType: string, entityId: number): Promise<ParameterValues> {
  const rows = await db
    .selectFrom('parameter_values as v')
    .innerJoin('parameters as p', 'p.id', 'v.parameter_id')
    .select(['v.parameter_id', 'v.value', 'p.type'])
    .where('v.entity_type', '=', entityType)
    .where('v.entity_id', '=', entityId)
    .orderBy('v.parameter_id')
    .execute();
  const out: ParameterValues = {};
  for (const r of rows) out[String(r.parameter_id)] = readParameterValue(String(r.type), String(r.value));
  return out;
}

/**
 * Applies a partial map (`null` removes a value) to one record of `service`'s entity. Every bad key
 * is reported in one 422; nothing is written unless all are good. The values and one
 * `<entity>.parameters_changed` event (only when something really changed) share a transaction.
 */
export async function writeParameterValues(
  ctx: HubContext,
  service: EntityService,
  entityId: number,
  patch: Record<string, unknown>,
  principal: Principal | null,
): Promise<ParameterValues> {
  const entityType = service.def.name;
  return service.write(async (trx) => {
    await service.get(entityId, principal, trx); // 404 for a missing (or invisible) record
    const parameters = await loadParameters(trx, Object.keys(patch));
    const problems: { field: string; message: string }[] = [];
    const wanted = new Map<number, { parameter: ParameterInfo; stored: string | null }>();
    for (const [key, value] of Object.entries(patch)) {
      const parameter = parameters.get(key);
      if (!parameter) problems.push({ field: key, message: /^[1-9]\d{0,15}$/.test(key) ? `no parameter with id ${key}` : 'is not a parameter id' });
      else if (parameter.entityType !== entityType) problems.push({ field: key, message: `parameter ${key} belongs to ${parameter.entityType} records, not ${entityType}` });
      else if (value === null) wanted.set(parameter.id, { parameter, stored: null });
      else {
        const checked = checkParameterValue(parameter, value);
        if (checked.ok) wanted.set(parameter.id, { parameter, stored: checked.stored });
        else problems.push({ field: key, message: checked.message });
      }
    }
    if (problems.length > 0) {
      throw new AppError('VALIDATION_FAILED', `Invalid parameter values: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
    }

    const existing = new Map<number, string>();
    const rows = await trx.selectFrom('parameter_values').select(['parameter_id', 'value']).where('entity_type', '=', entityType).where('entity_id', '=', entityId).execute();
    for (const r of rows) existing.set(Number(r.parameter_id), String(r.value));

    const now = ctx.clock.now();
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [id, { parameter, stored }] of wanted) {
      const before = existing.get(id) ?? null;
      if (before === stored) continue;
      if (stored === null) {
        await trx.deleteFrom('parameter_values').where('entity_type', '=', entityType).where('entity_id', '=', entityId).where('parameter_id', '=', id).execute();
      } else {
        await trx
          .insertInto('parameter_values')
          .values({ entity_type: entityType, entity_id: entityId, parameter_id: id, value: stored, updated_at: now })
          .onConflict((oc) => oc.columns(['entity_type', 'entity_id', 'parameter_id']).doUpdateSet({ value: stored, updated_at: now }))
          .execute();
      }
      const show = (v: string | null) => (v === null ? null : readParameterValue(parameter.type, v));
      changes[String(id)] = { from: show(before), to: show(stored) };
    }
    if (Object.keys(changes).length > 0) {
      await ctx.events.publish(trx, { topic: `${entityType}.parameters_changed`, entityType, entityId, payload: { changes } });
    }
    return readParameterValues(trx, entityType, entityId);
  });
}

async function loadParameters(db: Db, keys: string[]): Promise<Map<string, ParameterInfo>> {
  const ids = keys.filter((k) => /^[1-9]\d{0,15}$/.test(k)).map(Number).filter(Number.isSafeInteger);
  const out = new Map<string, ParameterInfo>();
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('parameters').select(['id', 'type', 'entity_type', 'options']).where('id', 'in', ids).execute();
  for (const r of rows) {
    const options = r.options ? (JSON.parse(String(r.options)) as unknown) : null;
    out.set(String(r.id), { id: Number(r.id), type: String(r.type), entityType: String(r.entity_type), options: Array.isArray(options) ? options.map(String) : null });
  }
  return out;
}
