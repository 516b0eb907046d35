import { Type } from 'typebox';
import type { HubContext } from '../../../platform/context.js';
import { AppError } from '../../../platform/errors/index.js';
import type { HubApp } from '../../../platform/http/index.js';
import { syncStore } from '../../engine/index.js';
import { DETECTION_TOPICS, TARGET, type SyncKind } from './detection.js';
import { DETECT_SUBSCRIBERS, SCAN_KEY, type RoistatSync, type ScanState } from './plugin.js';
import { HALT_KEY, STATUSES_KEY, type Halt, type StatusState } from './registration.js';

const view = { permission: 'stats.view' as const };
const manage = { permission: 'settings.write' as const };
const tags = ['sync'];
const KindParams = Type.Object({ kind: Type.Union([Type.Literal('clients'), Type.Literal('orders')]), id: Type.Integer({ minimum: 1 }) });
const kindOf = (plural: 'clients' | 'orders'): SyncKind => (plural === 'clients' ? 'client' : 'order');
const Any = Type.Object({}, { additionalProperties: true });

/** GET /sync/roistat and friends: what is synced, what is stuck and why, and the levers to fix it. */
export function registerRoistatRoutes(app: HubApp, ctx: HubContext, sync: RoistatSync | undefined): void {
  const enabled = () => {
    if (!sync) throw new AppError('CONFLICT', 'The Roistat sync is disabled: set plugin.roistat.enabled=true (with project and apiKey) and restart');
    return sync;
  };

  app.get('/sync/roistat', { config: view, schema: { tags, summary: 'Roistat sync overview: counts per state, lag, last errors, halt, statuses', response: { 200: Any } } }, async () => {
    if (!sync) return { enabled: false };
    const now = ctx.clock.now();
    const counts = await syncStore.countByState(ctx.db, TARGET);
    const empty = { pending: 0, registered: 0, error: 0, excluded: 0 };
    const lagOf = async (kind: SyncKind) => {
      const oldest = await syncStore.oldestPending(ctx.db, TARGET, kind);
      return { oldestPendingAt: oldest, lagMs: oldest === null ? 0 : Math.max(0, now - oldest) };
    };
    const statuses = await syncStore.readTargetState<StatusState>(ctx.db, TARGET, STATUSES_KEY);
    return {
      enabled: true,
      project: sync.settings.project,
      baseUrl: sync.settings.baseUrl,
      halted: (await syncStore.readTargetState<Halt>(ctx.db, TARGET, HALT_KEY)) ?? null,
      clients: { ...empty, ...counts.client, ...(await lagOf('client')) },
      orders: { ...empty, ...counts.order, ...(await lagOf('order')) },
      statuses: {
        configured: sync.settings.statuses,
        registered: statuses ?? null,
        upToDate: !!statuses && statuses.ids.join('\n') === sync.settings.statuses.map((s) => s.id).join('\n'),
      },
      detection: { eventsWaiting: await eventsWaiting(ctx) },
      // Progress of a full scan (first enable, configuration change, POST …/rescan): the phase and the last id done.
      fullScan: await scanProgress(ctx),
      registrars: sync.settings.registrars,
      rateLimit: sync.settings.rateLimit,
      lastErrors: await syncStore.lastErrors(ctx.db, TARGET, 20),
    };
  });

  app.get(
    '/sync/roistat/:kind/:id',
    { config: view, schema: { tags, summary: 'Sync state of one client or deal, with its sync history (newest first)', params: KindParams, response: { 200: Any } } },
    async (request) => {
      enabled();
      const { kind, id } = request.params as { kind: 'clients' | 'orders'; id: number };
      const row = await syncStore.readRow(ctx.db, ctx.dialect, TARGET, kindOf(kind), id);
      if (!row) throw new AppError('NOT_FOUND', `No Roistat sync state for ${kindOf(kind)} ${id}: it never took part (check groups / deal types) or no change was seen yet`);
      const parse = (text: string | null) => (text === null ? null : (JSON.parse(text) as unknown));
      return {
        kind: row.kind,
        entityId: row.entityId,
        remoteId: row.remoteId,
        state: row.state,
        payload: parse(row.payload),
        registeredPayload: parse(row.registeredPayload),
        upToDate: row.state === 'registered' && row.payloadHash === row.registeredHash,
        attempts: row.attempts,
        lastError: row.lastErrorCode ? { code: row.lastErrorCode, description: row.lastError } : null,
        changedAt: row.changedAt,
        lastAttemptAt: row.lastAttemptAt,
        registeredAt: row.registeredAt,
        history: await syncStore.readHistory(ctx.db, TARGET, row.kind, id, 50),
      };
    },
  );

  app.post(
    '/sync/roistat/:kind/:id/register',
    { config: manage, schema: { tags, summary: 'Force a re-registration of one client or deal (rebuilt from current data, sent by the next registrar run)', params: KindParams, response: { 202: Any } } },
    async (request, reply) => {
      const s = enabled();
      const { kind, id } = request.params as { kind: 'clients' | 'orders'; id: number };
      const result = kind === 'clients' ? await s.detection.clients([id], { force: true }) : await s.detection.orders([id], { force: true });
      const row = await syncStore.readRow(ctx.db, ctx.dialect, TARGET, kindOf(kind), id);
      if (!row) throw new AppError('NOT_FOUND', `${kindOf(kind)} ${id} does not exist`);
      return reply.code(202).send({ entityId: id, state: row.state, queued: result.changed.length === 1, reason: row.state === 'pending' ? null : row.lastError });
    },
  );

  app.post(
    '/sync/roistat/errors/retry',
    { config: manage, schema: { tags, summary: 'Queue every errored client and deal again now, without waiting for syncInterval', response: { 202: Any } } },
    async (_request, reply) => {
      const s = enabled();
      const out = { clients: 0, orders: 0 };
      for (const kind of ['client', 'order'] as const) {
        for (;;) {
          const ids = await syncStore.idsInState(ctx.db, TARGET, kind, 'error', 500);
          if (ids.length === 0) break;
          const result = kind === 'client' ? await s.detection.clients(ids, { force: true }) : await s.detection.orders(ids, { force: true });
          out[kind === 'client' ? 'clients' : 'orders'] += result.changed.length;
          if (result.changed.length === 0) break; // what is left fails while building: it keeps its error
        }
      }
      return reply.code(202).send({ queued: out });
    },
  );

  app.post('/sync/roistat/resume', { config: manage, schema: { tags, summary: 'Clear a halt caused by a configuration error (after fixing it)', response: { 200: Any } } }, async () => {
    return { resumed: await enabled().registrars.resume() };
  });

  app.post('/sync/roistat/rescan', { config: manage, schema: { tags, summary: 'Rebuild every client and deal from current data (only changed ones are sent)', response: { 202: Any } } }, async (_r, reply) => {
    await enabled().requestFullScan();
    return reply.code(202).send({ scanning: true });
  });
}

/** Directory events the detection subscribers have not handled yet. */
async function eventsWaiting(ctx: HubContext): Promise<number> {
  let waiting = 0;
  for (const kind of ['client', 'order'] as const) {
    const consumer = await ctx.db.selectFrom('event_consumers').select('last_event_id').where('name', '=', DETECT_SUBSCRIBERS[kind]).executeTakeFirst();
    if (!consumer) continue;
    const r = await ctx.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('id', '>', Number(consumer.last_event_id))
      .where('topic', 'in', DETECTION_TOPICS[kind])
      .executeTakeFirst();
    waiting += Number(r?.n ?? 0);
  }
  return waiting;
}

async function scanProgress(ctx: HubContext): Promise<{ running: boolean; phase: string; afterId: number } | null> {
  const scan = await syncStore.readTargetState<ScanState>(ctx.db, TARGET, SCAN_KEY);
  return scan ? { running: scan.phase !== 'done', phase: scan.phase, afterId: scan.afterId } : null;
}
