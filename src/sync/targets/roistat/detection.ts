import type { RoistatClientRecord, RoistatOrderRecord } from '../../../connectors/roistat/index.js';
import type { Db } from '../../../platform/db/index.js';
import type { DomainEvent } from '../../../platform/events/index.js';
import { detectChanges, type Built, type DetectDeps, type DetectResult, type DetectSpec } from '../../engine/index.js';
import type { LoadedProviders } from './provider-loader.js';
import type { ClientSnapshot, DealSnapshot } from './providers.js';
import type { RoistatSettings } from './settings.js';
import { idsReferencing, loadClientSnapshots, loadDealSnapshots } from './snapshots.js';

export const TARGET = 'roistat';
export type SyncKind = 'client' | 'order';

/**
 * Hub topics whose changes can alter what Roistat should hold, per kind. Clients and deals have a
 * subscriber each, so the two detections run side by side (they take different locks).
 */
export const DETECTION_TOPICS: Record<SyncKind, string[]> = {
  client: ['client.created', 'client.updated', 'client.deleted', 'client.parameters_changed', 'client.groups_changed', 'company.updated'],
  order: ['deal.created', 'deal.updated', 'deal.deleted', 'deal.parameters_changed', 'company.updated', 'deal_status.updated', 'deal_type.updated'],
};

export interface Detection {
  clients(ids: readonly number[], options?: { force?: boolean }): Promise<DetectResult>;
  orders(ids: readonly number[], options?: { force?: boolean }): Promise<DetectResult>;
  /** A batch subscriber: works out which entities of `kind` the events touch, then detects them. */
  handleEvents(kind: SyncKind, events: readonly DomainEvent[]): Promise<void>;
}

export function createDetection(deps: DetectDeps, settings: RoistatSettings, providers: LoadedProviders): Detection {
  const clientSpec: DetectSpec = { target: TARGET, kind: 'client', build: (db, ids) => buildClients(db, deps, ids, settings, providers) };
  const orderSpec: DetectSpec = { target: TARGET, kind: 'order', build: (db, ids) => buildOrders(db, deps, ids, settings, providers) };
  const detection: Detection = {
    clients: (ids, options) => detectChanges(deps, clientSpec, ids, options),
    orders: (ids, options) => detectChanges(deps, orderSpec, ids, options),
    async handleEvents(kind, events) {
      const ids = new Set<number>();
      const own = kind === 'client' ? 'client' : 'deal';
      const table = kind === 'client' ? 'clients' : 'deals';
      for (const e of events) {
        const id = Number(e.entityId);
        if (!Number.isSafeInteger(id)) continue;
        if (e.entityType === own) ids.add(id);
        else if (e.topic === 'company.updated') for (const x of await idsReferencing(deps.db, table, 'company_id', id)) ids.add(x);
        else if (kind === 'order' && e.topic === 'deal_status.updated') for (const x of await idsReferencing(deps.db, 'deals', 'deal_status_id', id)) ids.add(x);
        else if (kind === 'order' && e.topic === 'deal_type.updated') for (const x of await idsReferencing(deps.db, 'deals', 'deal_type_id', id)) ids.add(x);
      }
      if (ids.size === 0) return;
      if (kind === 'client') await detection.clients([...ids]);
      else if (settings.orders.types.length > 0) await detection.orders([...ids]);
    },
  };
  return detection;
}

async function buildClients(db: Db, deps: DetectDeps, ids: readonly number[], settings: RoistatSettings, providers: LoadedProviders): Promise<Map<number, Built>> {
  const snapshots = await loadClientSnapshots(db, deps.dialect, ids);
  const groups = settings.clients.groups;
  const out = new Map<number, Built>();
  for (const id of ids) {
    const client = snapshots.get(id);
    if (!client) out.set(id, { outcome: 'excluded', reason: 'the client was deleted' });
    else if (groups && !client.groupIds.some((g) => groups.includes(g))) {
      out.set(id, { outcome: 'excluded', reason: `not in the configured client groups (${groups.join(', ')})` });
    } else out.set(id, await buildOne(client, () => providers.client.clientDetails(client), checkClientRecord));
  }
  return out;
}

async function buildOrders(db: Db, deps: DetectDeps, ids: readonly number[], settings: RoistatSettings, providers: LoadedProviders): Promise<Map<number, Built>> {
  const snapshots = await loadDealSnapshots(db, deps.dialect, ids);
  const statusIds = new Set(settings.statuses.map((s) => s.id));
  const out = new Map<number, Built>();
  for (const id of ids) {
    const deal = snapshots.get(id);
    const provider = deal && providers.orderByType.get(deal.dealTypeId);
    if (!deal) out.set(id, { outcome: 'excluded', reason: 'the deal was deleted' });
    else if (!provider) out.set(id, { outcome: 'excluded', reason: `deal type ${deal.dealTypeId} does not take part (plugin.roistat.order.process.types)` });
    else out.set(id, await buildOne(deal, () => provider.orderDetails(deal), (record, d) => checkOrderRecord(record, d, statusIds)));
  }
  return out;
}

type Checked = { ok: true; dependsOn?: number | null; statusRef?: string | null } | { ok: false; message: string };

/** Runs one provider call; whatever it throws or returns wrong concerns this entity only. */
async function buildOne<S extends { id: number }, R>(snapshot: S, call: () => R | null | Promise<R | null>, check: (record: R, s: S) => Checked): Promise<Built> {
  let record: R | null;
  try {
    record = await call();
  } catch (err) {
    return { outcome: 'error', code: 'BUILD_PROVIDER_ERROR', message: `the details provider failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2000) };
  }
  if (record === null || record === undefined) return { outcome: 'excluded', reason: 'the details provider left it out' };
  const checked = check(record, snapshot);
  if (!checked.ok) return { outcome: 'error', code: 'BUILD_INVALID_DETAILS', message: checked.message };
  return { outcome: 'record', record, dependsOn: checked.dependsOn, statusRef: checked.statusRef };
}

// One hub entity is one Roistat entity: the upsert key must be the hub id, never anything else.
function checkClientRecord(record: RoistatClientRecord, client: ClientSnapshot): Checked {
  if (record.id !== String(client.id)) return { ok: false, message: `the provider returned id "${record.id}"; a client's Roistat id must be its hub id "${client.id}"` };
  if (typeof record.name !== 'string' || record.name.trim() === '') return { ok: false, message: 'Roistat requires a client name; the provider returned none' };
  return { ok: true };
}

function checkOrderRecord(record: RoistatOrderRecord, deal: DealSnapshot, statusIds: Set<string>): Checked {
  if (record.id !== String(deal.id)) return { ok: false, message: `the provider returned id "${record.id}"; a deal's Roistat id must be its hub id "${deal.id}"` };
  const status = record.status === undefined || record.status === null ? null : String(record.status);
  if (status !== null && !statusIds.has(status)) {
    return { ok: false, message: `status "${status}" is not configured: add it as plugin.roistat.status.<n>.id (configured: ${[...statusIds].join(', ') || 'none'})` };
  }
  const clientRef = record.client_id === undefined || record.client_id === null ? null : String(record.client_id);
  if (clientRef !== null && !/^[1-9]\d{0,15}$/.test(clientRef)) return { ok: false, message: `client_id "${clientRef}" is not a hub client id` };
  return { ok: true, dependsOn: clientRef === null ? null : Number(clientRef), statusRef: status };
}
