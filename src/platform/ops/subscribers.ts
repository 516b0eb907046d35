import { AppError } from '../errors/index.js';
import { describeAge, IN_USE_WITHIN_MS, type EventRef, type SubscriberChange, type SubscriberStatus } from '../events/index.js';
import type { OpsDeps } from './deps.js';

/** Event subscribers for operators, shared by the API and the CLI; refusals are AppErrors that say what to do. */
export interface SubscriberOperations {
  list(): Promise<SubscriberStatus[]>;
  /** Moves a failing subscriber past the one event it fails on, which the caller names (a guard against skipping the wrong one). */
  skip(name: string, eventId: number, actor: string): Promise<{ skipped: EventRef; subscriber: SubscriberStatus }>;
  /** Ends a failing subscriber's backoff wait: it tries the event again now. */
  retry(name: string, actor: string): Promise<SubscriberStatus>;
  /**
   * Deletes the checkpoint of a subscriber no process runs any more, so it stops holding back pruning.
   * Refused while a process registered it recently, unless `force`. Returns what the deleted row held.
   */
  forget(name: string, options: { force: boolean }, actor: string): Promise<ForgottenSubscriber>;
}

export interface ForgottenSubscriber {
  lastEventId: number;
  lastSeenAt: number;
  lastSeenBy: string | null;
}

export function createSubscriberOperations(deps: OpsDeps): SubscriberOperations {
  const { events, log, clock } = deps;
  const statusOf = async (name: string) => (await events.subscriberStatus(name))[0]!;

  /** The refusal for an outcome that changed nothing. */
  async function refusal(name: string, outcome: SubscriberChange, eventId?: number): Promise<AppError> {
    switch (outcome.kind) {
      case 'missing': {
        const known = (await events.subscriberStatus()).map((s) => s.name);
        return new AppError('NOT_FOUND', `No event subscriber named "${name}"; known: ${known.length ? known.join(', ') : 'none'}`);
      }
      case 'unknown-filter':
        return new AppError(
          'CONFLICT',
          `Subscriber "${name}" has no recorded topic filter (no process has registered it since the upgrade that records it) and is not subscribed in this process, ` +
            'so the event it is stuck at is unknown here; skip it through a hub (or a CLI) that loads the same plugins and configuration as the one that runs it',
        );
      case 'in-use': {
        const by = outcome.seenBy ? ` (${outcome.seenBy})` : '';
        return new AppError(
          'CONFLICT',
          `Subscriber "${name}" is in use: a process${by} registered it ${describeAge(clock.now() - outcome.seenAt)} ago, and running processes renew that every minute. ` +
            `Remove it from the code or plugins of every process and restart them; once no process has registered it for ${describeAge(IN_USE_WITHIN_MS)} it can be forgotten. ` +
            'To forget it now anyway, pass ?force=true (CLI: --force): a process that still subscribes it then starts it again as a new subscriber, without the events it has not had.',
        );
      }
      case 'not-stuck':
        return new AppError('CONFLICT', `Subscriber "${name}" is not failing (no failures; its checkpoint is event ${outcome.lastEventId}): there is nothing to ${eventId === undefined ? 'retry' : 'skip'}`);
      case 'stuck-elsewhere':
        return new AppError(
          'CONFLICT',
          outcome.stuckAt
            ? `Subscriber "${name}" is stuck at event ${outcome.stuckAt.id} (${describe(outcome.stuckAt)}), not at event ${eventId}; only the event it is stuck at can be skipped`
            : `Subscriber "${name}" has failures but no event after its checkpoint matches its topics; there is nothing to skip (retry it instead)`,
        );
      case 'busy':
        return new AppError('CONFLICT', `Subscriber "${name}" is being delivered right now (in this or another process); try again in a moment`);
      default:
        return new AppError('INTERNAL', `unexpected outcome ${outcome.kind}`);
    }
  }

  return {
    list: () => events.subscriberStatus(),

    async skip(name, eventId, actor) {
      const outcome = await events.skip(name, eventId);
      if (outcome.kind !== 'skipped') throw await refusal(name, outcome, eventId);
      // An operator chose to lose an event for this subscriber: say who, and which event, loudly.
      log.warn(
        { subscriber: name, eventId, topic: outcome.event.topic, entityType: outcome.event.entityType, entityId: outcome.event.entityId, failures: outcome.before.failures, lastError: outcome.before.lastError, by: actor },
        'an operator made an event subscriber skip an event',
      );
      return { skipped: outcome.event, subscriber: await statusOf(name) };
    },

    async retry(name, actor) {
      const outcome = await events.retryNow(name);
      if (outcome.kind !== 'retrying') throw await refusal(name, outcome);
      log.warn({ subscriber: name, failures: outcome.before.failures, lastError: outcome.before.lastError, by: actor }, 'an operator ended an event subscriber’s backoff wait');
      return statusOf(name);
    },

    async forget(name, { force }, actor) {
      const outcome = await events.forget(name, force);
      if (outcome.kind !== 'forgotten') throw await refusal(name, outcome);
      const { lastEventId, failures, seenAt: lastSeenAt, seenBy: lastSeenBy } = outcome.before;
      log.warn({ subscriber: name, lastEventId, failures, lastSeenAt, lastSeenBy, force, by: actor }, 'an operator forgot an event subscriber’s checkpoint');
      return { lastEventId, lastSeenAt, lastSeenBy };
    },
  };
}

export function describe(e: EventRef): string {
  return `${e.topic}, ${e.entityType} ${e.entityId}`;
}
