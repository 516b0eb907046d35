import type { HubContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors/index.js';
import type { HubApp } from '../../platform/http/index.js';
import { Type } from 'typebox';
import { ENDED_STATES, IntakeConflict, type FlowRuntime, type RunRow, type RunState } from '../runtime/index.js';
import * as S from './schemas.js';
import { flowDetail, flowSummary, runSummary, stepRecord } from './views.js';

const read = { permission: 'flows.read' as const };
const run = { permission: 'flows.run' as const };
const tags = ['flows'];
const MAX_KEY_LENGTH = 200;

/** The flows API: intake, flows, runs with their step history, replay and cancel. */
export function registerFlowRoutes(app: HubApp, ctx: HubContext, flows: FlowRuntime): void {
  const flowOf = (id: string) => {
    const entry = flows.registry.get(id);
    if (!entry) {
      const known = flows.registry.list().map((e) => e.flow.id);
      throw new AppError('NOT_FOUND', `Flow "${id}" is not loaded; loaded flows: ${known.length ? known.join(', ') : 'none'} (files in ${ctx.config.flows.dir})`);
    }
    return entry;
  };

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
      let accepted;
      try {
        accepted = await flows.intake.accept(entry, body, key);
      } catch (err) {
        if (err instanceof IntakeConflict) throw new AppError('CONFLICT', err.message);
        throw err;
      }
      reply.header('location', `/runs/${accepted.runId}`);
      if (accepted.duplicate) reply.header('idempotent-replayed', 'true');
      const wait = Math.min((request.query as { wait?: number }).wait ?? 0, ctx.config.flows.maxWaitMs);
      if (wait > 0) {
        const { run: ended, context: known } = await flows.waitForEnd(accepted.runId, wait, !accepted.duplicate);
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
      const limit = q.limit ?? 50;
      const rows = await flows.runs.list({ flowId: q.flow, state: q.state, before: q.before, limit });
      return { runs: rows.map(runSummary), next: rows.length === limit ? rows[rows.length - 1]!.id : null };
    },
  );

  app.get(
    '/runs/:id',
    { config: read, schema: { tags, summary: 'A run: state, request and every step attempt with timings', params: S.RunIdParams, querystring: S.RunQuery, response: { 200: S.RunDetail } } },
    async (request) => {
      const found = await mustRun(flows, (request.params as { id: string }).id, ctx);
      const q = request.query as { afterStep?: number; stepLimit?: number };
      const limit = q.stepLimit ?? 200;
      const steps = await flows.runs.steps(found.id, q.afterStep ?? 0, limit);
      return {
        ...runSummary(found),
        request: JSON.parse(found.request),
        steps: steps.map(stepRecord),
        nextStepsAfter: steps.length === limit ? steps[steps.length - 1]!.id : null,
      };
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
      const old = await mustRun(flows, (request.params as { id: string }).id, ctx);
      const { fromStep } = request.body as { fromStep: string };
      if (!ENDED_STATES.includes(old.state)) throw new AppError('CONFLICT', `Run ${old.id} is ${old.state}; replay an ended run (cancel it first)`);
      const entry = flowOf(old.flow_id);
      if (!entry.flow.steps.has(fromStep)) {
        throw new AppError('VALIDATION_FAILED', `fromStep: flow ${entry.flow.id} has no step "${fromStep}"; its steps: ${[...entry.flow.steps.keys()].join(', ')}`, [
          { field: 'fromStep', message: `unknown step "${fromStep}"` },
        ]);
      }
      const replayed = await flows.intake.replay(entry, old, fromStep);
      reply.header('location', `/runs/${replayed.runId}`);
      return reply.code(202).send({ runId: replayed.runId, state: replayed.state, replayOf: old.id, fromStep });
    },
  );

  app.post(
    '/runs/:id/cancel',
    { config: run, schema: { tags, summary: 'Cancel a queued or running run; steps under way in this process are aborted', params: S.RunIdParams, response: { 200: S.Cancelled } } },
    async (request) => {
      const found = await mustRun(flows, (request.params as { id: string }).id, ctx);
      if (!(await flows.intake.cancel(found))) throw new AppError('CONFLICT', `Run ${found.id} has already ended (${(await mustRun(flows, found.id, ctx)).state})`);
      return { runId: found.id, state: 'cancelled' as const };
    },
  );
}

async function mustRun(flows: FlowRuntime, id: string, ctx: HubContext): Promise<RunRow> {
  const found = await flows.runs.read(id);
  if (!found) throw new AppError('NOT_FOUND', `Run ${id} does not exist (ended runs are kept ${ctx.config.flows.retentionDays} days, flows.retentionDays)`);
  return found;
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
