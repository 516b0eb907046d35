import {
  Bitrix24Error,
  createBitrix24Client,
  createLeakyBucket,
  type Bitrix24Auth,
  type Bitrix24Client,
  type Bitrix24ClientOptions,
  type Bitrix24Log,
  type Bitrix24RateLimiter,
} from '../../../connectors/bitrix24/index.js';
import type { Config } from '../../../platform/config/index.js';
import { StepFailure } from '../../runtime/local.js';

/** `flows.bitrix24` of the config. */
export type Bitrix24ModuleSettings = NonNullable<Config['flows']['bitrix24']>;

export interface Bitrix24ModuleDeps {
  log?: Bitrix24Log;
  /** Tests wrap the real fetch (e.g. to lose a reply after the portal acted on it). */
  fetch?: typeof fetch;
}

/**
 * One leaky bucket per portal in this process: the portal counts every request from our IP, so every
 * client of the same portal (several hubs in one process, a reconfigured module set) must share it.
 */
const limiters = new Map<string, Bitrix24RateLimiter>();

/** Checks `flows.bitrix24` and builds its client (no I/O); every problem is listed at once. */
export function createPortalClient(settings: Bitrix24ModuleSettings, deps: Bitrix24ModuleDeps = {}): Bitrix24Client {
  const { webhookUrl, portalUrl, accessToken } = settings;
  const problems: string[] = [];
  let auth: Bitrix24Auth | undefined;
  if (webhookUrl !== undefined && (portalUrl !== undefined || accessToken !== undefined)) {
    problems.push('flows.bitrix24: set either webhookUrl or portalUrl + accessToken, not both');
  } else if (webhookUrl !== undefined) {
    auth = { webhookUrl };
  } else if (portalUrl !== undefined && accessToken !== undefined) {
    auth = { portalUrl, accessToken };
  } else {
    problems.push(`flows.bitrix24: ${portalUrl === undefined && accessToken === undefined ? 'webhookUrl, or portalUrl + accessToken, is required' : `${portalUrl === undefined ? 'portalUrl' : 'accessToken'} is missing`}`);
  }
  const options: Bitrix24ClientOptions = { log: deps.log, fetch: deps.fetch, timeoutMs: settings.timeoutMs };
  let client: Bitrix24Client | undefined;
  if (auth) {
    try {
      // The client resolves (and checks) the portal address; a limiter already held for it is reused.
      const fresh = createLeakyBucket(settings.rateLimit);
      client = createBitrix24Client(auth, { ...options, limiter: fresh });
      const shared = limiters.get(client.portal);
      if (shared) client = createBitrix24Client(auth, { ...options, limiter: shared });
      else limiters.set(client.portal, fresh);
    } catch (err) {
      problems.push(`flows.bitrix24: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!client || problems.length > 0) throw new Error(`the Bitrix24 flow modules cannot start (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`);
  return client;
}

/**
 * Connector errors as step failures the supervisor can act on: rate and operating-time limits and
 * outages are retried with the step's backoff; configuration and rejected requests need a person.
 */
export function asStepFailure(module: string, err: unknown): unknown {
  if (err instanceof Bitrix24Error) return new StepFailure(err.code, `${module}: ${err.message}`, err.retryable);
  // The connector throws TypeError for input it refuses before any call (an empty phone, an id that is not one).
  if (err instanceof TypeError) return new StepFailure('BAD_INPUT', `${module}: ${err.message}`);
  return err;
}
