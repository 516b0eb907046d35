import type { HubContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors/index.js';
import type { HubApp } from '../../platform/http/index.js';
import { Type } from 'typebox';
import { ENDED_STATES, IntakeConflict, type FlowRuntime, type RunState } from '../runtime/index.js';
import { cancelRun, loadedFlow, replayRun, replayRuns, runDocument, runPage } from './runs.js';
import * as S from './schemas.js';
import { flowDetail, flowSummary } from './views.js';

const read = { permission: 'flows.read' as const };
const run = { permission: 'flows.run' as const };
const tags = ['flows'];
const MAX_KEY_LENGTH = 200;

/** The flows API: intake, flows, runs with their step history, replay and cancel. */
export function registerFlowRoutes(app: HubApp, ctx: HubContext, flows: FlowRuntime): void {
  const flowOf = (id: string) => loadedFlow(flows, id);

  app.post(
    '/flows/:id/requests',
    {
      config: run,
      bodyLimit: ctx.config.flows.requestBytes,
      schema: {
        tags,
        summary: 'Start a run with any JSON object as its request; 202 once it is durable, or the outcome with ?wait',
        description:
          'The body is kept under `request` in the run context. An `Idempotency-Key` header makes retries safe: the same key with the same body ' +
          'answers with the same run, with another body 409. `?wait=<ms>` (at most flows.maxWaitMs, 30 s) answers 200 with the final context ' +
          'when the run ends in time, else 202. Bodies over flows.requestBytes get 413.',
        params: S.FlowIdParams,
        querystring: S.IntakeQuery,
        body: Type.Unknown({ description: 'Any JSON object' }),
        response: { 200: S.Outcome, 202: S.Accepted },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const entry = flowOf(id);
      const body = request.body === undefined ? {} : request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new AppError('VALIDATION_FAILED', 'The request body must be a JSON object: the run keeps it under `request`, and routes read its fields (request.<field>)');
      }
      const key = headerOf(request.headers['idempotency-key']);
      if (key !== undefined && (key === '' || key.length > MAX_KEY_LENGTH)) {
        throw new AppError('MALFORMED_REQUEST', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
      }
      const wait = Math.min((request.query as { wait?: number }).wait ?? 0, ctx.config.flows.maxWaitMs);
      let accepted;
      try {
        accepted = await flows.intake.accept(entry, body, key, { waits: wait > 0 });
      } catch (err) {
        if (err instanceof IntakeConflict) throw new AppError('CONFLICT', err.message);
        throw err;
      }
      reply.header('location', `/runs/${accepted.runId}`);
      if (accepted.duplicate) reply.header('idempotent-replayed', 'true');
      if (wait > 0) {
        const { run: ended, context: known } = accepted.ended ?? (await flows.waitForEnd(accepted.runId, wait, !accepted.duplicate));
        if (ended && ENDED_STATES.includes(ended.state)) {
          const context = known ?? (await flows.supervisor.loadContext(ended));
          return reply.code(200).send({
            runId: ended.id,
            flowId: ended.flow_id,
            version: ended.version,
            state: ended.state,
            duplicate: accepted.duplicate,
            context,
            error: ended.error === null ? null : JSON.parse(ended.error),
          });
        }
        if (ended) accepted = { ...accepted, state: ended.state };
      }
      return reply.code(202).send(accepted);
    },
  );

  app.get('/flows', { config: read, schema: { tags, summary: 'Loaded flows with their current version', response: { 200: Type.Array(S.FlowSummary) } } }, async () =>
    flows.registry.list().map(flowSummary),
  );

  app.get(
    '/flows/:id',
    { config: read, schema: { tags, summary: 'One flow: its current version, steps and definition', params: S.FlowIdParams, response: { 200: S.FlowDetail } } },
    async (request) => {
      const entry = flowOf((request.params as { id: string }).id);
      return flowDetail(entry, await flows.runs.buffered(entry.flow));
    },
  );

  app.get(
    '/runs',
    { config: read, schema: { tags, summary: 'Runs, newest first; filter by flow and state (state=dead lists dead-lettered runs)', querystring: S.RunsQuery, response: { 200: S.RunList } } },
    async (request) => {
      const q = request.query as { flow?: string; state?: RunState; before?: string; limit?: number };
      return runPage(flows, { ...q, limit: q.limit ?? 50 });
    },
  );

  app.get(
    '/runs/:id',
    { config: read, schema: { tags, summary: 'A run: state, request and every step attempt with timings', params: S.RunIdParams, querystring: S.RunQuery, response: { 200: S.RunDetail } } },
    async (request) => {
      const q = request.query as { afterStep?: number; stepLimit?: number };
      return runDocument(flows, (request.params as { id: string }).id, q.afterStep, q.stepLimit);
    },
  );

  app.post(
    '/runs/:id/replay',
    {
      config: run,
      schema: {
        tags,
        summary: 'Run an ended run again from a step, reusing the outputs of the steps before it; a new run linked to the old one',
        params: S.RunIdParams,
        body: S.ReplayBody,
        response: { 202: S.Replayed },
      },
    },
    async (request, reply) => {
      const replayed = await replayRun(flows, (request.params as { id: string }).id, (request.body as { fromStep: string }).fromStep);
      reply.header('location', `/runs/${replayed.runId}`);
      return reply.code(202).send(replayed);
    },
  );

  app.post(
    '/flows/:id/replay',
    {
      config: run,
      schema: {
        tags,
        summary: "Replay a page of a flow's failed (or dead) runs, each from the step it failed at (or fromStep), oldest first; runs replayed already are skipped",
        params: S.FlowIdParams,
        body: S.ReplayManyBody,
        response: { 202: S.ReplayedMany },
      },
    },
    async (request, reply) => {
      const b = request.body as { state?: 'failed' | 'dead'; fromStep?: string; before?: string; limit?: number };
      const result = await replayRuns(flows, { flow: (request.params as { id: string }).id, state: b.state ?? 'failed', fromStep: b.fromStep, before: b.before, limit: b.limit ?? 100 });
      request.log.warn({ flow: (request.params as { id: string }).id, replayed: result.replayed.length, skipped: result.skipped.length, by: request.principal!.username }, 'flow runs replayed in bulk');
      return reply.code(202).send(result);
    },
  );

  app.post(
    '/runs/:id/cancel',
    { config: run, schema: { tags, summary: 'Cancel a queued or running run; steps under way in this process are aborted', params: S.RunIdParams, response: { 200: S.Cancelled } } },
    async (request) => cancelRun(flows, (request.params as { id: string }).id, `through the API by ${request.principal!.username}`),
  );
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
