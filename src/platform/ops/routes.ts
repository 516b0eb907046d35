import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { HubApp } from '../http/index.js';
import type { JobState } from '../jobs/index.js';
import type { JobOperations } from './jobs.js';
import type { SubscriberOperations } from './subscribers.js';
import * as S from './schemas.js';

const admin = { permission: 'admin' as const };
const jobsTag = ['operations: jobs'];
const subscribersTag = ['operations: event subscribers'];

/** Who made a change, for the warn-level audit line. */
const actor = (request: FastifyRequest) => request.principal?.username ?? 'unknown';

/** Dead letters and stuck subscribers: see, retry, delete, skip. Admins only. */
export function registerOpsRoutes(app: HubApp, ops: { jobs: JobOperations; subscribers: SubscriberOperations }): void {
  app.get(
    '/jobs',
    {
      config: admin,
      schema: {
        tags: jobsTag,
        summary: 'Jobs, newest first, with counts per state; state=dead lists the dead letters',
        description: 'Keyset paging: pass `nextBefore` as `?before=`. Payloads over 2000 characters are cut in the list (`payloadTruncated`); GET /jobs/{id} gives them whole.',
        querystring: S.JobsQuery,
        response: { 200: S.JobList },
      },
    },
    async (request) => {
      const q = request.query as { state?: JobState; task?: string; limit?: number; before?: number };
      return ops.jobs.list({ state: q.state, task: q.task, limit: q.limit ?? 50, before: q.before });
    },
  );

  app.get(
    '/jobs/:id',
    { config: admin, schema: { tags: jobsTag, summary: 'One job with its whole payload', params: S.JobIdParams, response: { 200: S.Job } } },
    async (request) => ops.jobs.get((request.params as { id: number }).id),
  );

  app.post(
    '/jobs/:id/retry',
    {
      config: admin,
      schema: {
        tags: jobsTag,
        summary: 'Queue a dead job again: attempts from 0, due now, its key restored (409 when not dead, or a live job holds the key)',
        description: 'The last error stays on the job until its next attempt replaces it. Workers of the answering process start it at once.',
        params: S.JobIdParams,
        response: { 200: S.Job },
      },
    },
    async (request) => ops.jobs.retry((request.params as { id: number }).id, actor(request)),
  );

  app.delete(
    '/jobs/:id',
    {
      config: admin,
      schema: { tags: jobsTag, summary: 'Delete a dead or queued job (409 while it is running)', params: S.JobIdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await ops.jobs.remove((request.params as { id: number }).id, actor(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/event-subscribers',
    {
      config: admin,
      schema: {
        tags: subscribersTag,
        summary: 'Every event subscriber’s checkpoint, lag, failures, next retry and the event it is stuck at',
        description:
          'A subscriber whose topic filter is unknown (`topics: null`) has a lag that counts events of every topic and no `stuckAt`. ' +
          '`inUse: false` means no running process has registered it for 5 minutes: if it was removed from the code, forget it (DELETE), as its checkpoint holds back event pruning.',
        response: { 200: Type.Array(S.Subscriber) },
      },
    },
    async () => ops.subscribers.list(),
  );

  app.post(
    '/event-subscribers/:name/skip',
    {
      config: admin,
      schema: {
        tags: subscribersTag,
        summary: 'Move a failing subscriber past the one event it is stuck at (name it: 409 otherwise); delivery resumes with the next event',
        description: 'The skipped event is never delivered to this subscriber (others are unaffected). Logged at warn level with the operator’s name.',
        params: S.SubscriberParams,
        body: S.SkipBody,
        response: { 200: S.Skipped },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      return ops.subscribers.skip(name, (request.body as { eventId: number }).eventId, actor(request));
    },
  );

  app.post(
    '/event-subscribers/:name/retry',
    {
      config: admin,
      schema: {
        tags: subscribersTag,
        summary: 'End a failing subscriber’s backoff wait: it tries the event again now (failures back to 0, so the backoff starts over)',
        params: S.SubscriberParams,
        response: { 200: S.Subscriber },
      },
    },
    async (request) => ops.subscribers.retry((request.params as { name: string }).name, actor(request)),
  );

  app.delete(
    '/event-subscribers/:name',
    {
      config: admin,
      schema: {
        tags: subscribersTag,
        summary: 'Forget a subscriber no process runs any more: delete its checkpoint, so it stops holding back event pruning (409 while in use, unless ?force=true)',
        description:
          'In use: a running process registered it within the last 5 minutes. With force, a process that still subscribes it starts it again as a new subscriber, without the events it has not had. ' +
          'Logged at warn level with the operator’s name.',
        params: S.SubscriberParams,
        querystring: S.ForgetQuery,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      await ops.subscribers.forget(name, { force: (request.query as { force?: boolean }).force ?? false }, actor(request));
      return reply.code(204).send(null);
    },
  );
}
