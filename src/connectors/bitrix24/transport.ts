import { systemClock, type Clock } from '../../platform/clock.js';
import { resolveAuth, type Bitrix24Auth } from './auth.js';
import {
  Bitrix24ConfigError,
  Bitrix24Error,
  Bitrix24OperationLimitError,
  Bitrix24RateLimitError,
  Bitrix24UnavailableError,
  classifyBitrix24Error,
} from './errors.js';
import { createLeakyBucket, realSleep, type Bitrix24RateLimiter, type LeakyBucketBudget } from './rate-limiter.js';
import type { Bitrix24Log, Bitrix24Page, Bitrix24Reply, Bitrix24Time } from './types.js';

export interface Bitrix24ClientOptions {
  /** Budget of this portal's bucket; ignored when `limiter` is given. */
  rateLimit?: Partial<LeakyBucketBudget>;
  /** Share one limiter between every client of the same portal (the bucket is per portal and IP). */
  limiter?: Bitrix24RateLimiter;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Used for back-off waits (and by the default limiter); tests pass a virtual one. */
  sleep?: (ms: number) => Promise<void>;
  log?: Bitrix24Log;
  /** Per-request timeout; a timeout is an outage (retryable). Default 60 s, Bitrix24's own request limit. */
  timeoutMs?: number;
  /** Retries after QUERY_LIMIT_EXCEEDED before giving up with Bitrix24RateLimitError. Default 4. */
  maxRateLimitRetries?: number;
}

/** The low-level part of the client: one method call, and paging over list methods. */
export interface Bitrix24Caller {
  /** `https://portal` — safe to log; key for sharing a limiter. */
  readonly portal: string;
  readonly limiter: Bitrix24RateLimiter;
  /** Rate-limited, retried on QUERY_LIMIT_EXCEEDED, typed errors. Returns the whole success body. */
  callRaw<T = unknown>(method: string, params?: Record<string, unknown>): Promise<Bitrix24Reply<T>>;
  /** Same as callRaw, returning only `result`. */
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Pages of a list method, following `next` (50 rows a page). Holds one page at a time. */
  pages<T = unknown>(method: string, params?: Record<string, unknown>): AsyncGenerator<Bitrix24Page<T>>;
  /** Every row of a list method, up to `maxItems` (default 5000) so memory stays bounded. */
  listAll<T = unknown>(method: string, params?: Record<string, unknown>, opts?: { maxItems?: number }): Promise<T[]>;
}

const silentLog: Bitrix24Log = { debug() {}, warn() {} };
const METHOD_NAME = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/i;

export function createTransport(auth: Bitrix24Auth, options: Bitrix24ClientOptions = {}): Bitrix24Caller {
  const creds = resolveAuth(auth);
  const doFetch = options.fetch ?? globalThis.fetch;
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const log = options.log ?? silentLog;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRetries = options.maxRateLimitRetries ?? 4;
  const limiter = options.limiter ?? createLeakyBucket(options.rateLimit, { clock, sleep });
  const portal = creds.portal;
  /** Per method: when its operating-time window resets (from the last `time` block), and a block we saw. */
  const resetAt = new Map<string, number>();
  const blockedUntil = new Map<string, number>();

  /** A reset time only while it is still ahead: an old one says nothing about the current block. */
  function knownReset(method: string): number | undefined {
    const at = resetAt.get(method);
    return at !== undefined && at > clock.now() ? at : undefined;
  }

  async function once<T>(method: string, params: Record<string, unknown>): Promise<Bitrix24Reply<T>> {
    const release = await limiter.acquire();
    const started = clock.now();
    const token = creds.token();
    let response: Response;
    let text: string;
    try {
      // JSON body, never GET: GET puts parameters (and for OAuth the token) into URLs that end up in logs.
      response = await doFetch(`${creds.endpoint}${method}.json`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(token === undefined ? params : { ...params, auth: token }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      release();
      const reason = creds.redact(cause instanceof Error ? `${cause.message}${causeText(cause)}` : String(cause));
      log.warn({ method, portal, ms: clock.now() - started, reason }, 'Bitrix24 unreachable');
      throw new Bitrix24UnavailableError(`Bitrix24 ${method} failed: ${reason}`, { method });
    }
    release();
    const ms = clock.now() - started;
    const body = parseBody(text);
    const time = body && isObject(body.time) ? (body.time as Bitrix24Time) : undefined;
    if (time && typeof time.operating_reset_at === 'number') resetAt.set(method, time.operating_reset_at * 1000);

    if (response.ok && body && 'result' in body && !('error' in body)) {
      log.debug({ method, portal, httpStatus: response.status, ms, operating: time?.operating }, 'Bitrix24 call');
      const reply: Bitrix24Reply<T> = { result: body.result as T };
      if (typeof body.total === 'number') reply.total = body.total;
      if (typeof body.next === 'number') reply.next = body.next;
      if (time) reply.time = time;
      return reply;
    }

    let error: Bitrix24Error;
    if (!body || typeof body.error !== 'string') {
      // An HTML page from a proxy or a half-dead portal (fast_bitrix24 #216): an outage unless it is 401/403/404.
      const status = response.status;
      const detail = `unreadable reply (HTTP ${status})`;
      error =
        status === 401 || status === 403 || status === 404
          ? new Bitrix24ConfigError(`Bitrix24 ${method} failed: ${detail}; check the portal address and credentials`, { method, httpStatus: status })
          : new Bitrix24UnavailableError(`Bitrix24 ${method} failed: ${detail}`, { method, httpStatus: status });
    } else {
      const description = typeof body.error_description === 'string' ? creds.redact(body.error_description) : undefined;
      error = classifyBitrix24Error({
        apiError: body.error,
        description,
        httpStatus: response.status,
        method,
        retryAt: knownReset(method),
      });
    }
    if (error instanceof Bitrix24OperationLimitError && error.retryAt !== undefined) {
      blockedUntil.set(method, error.retryAt);
    }
    log.warn({ method, portal, httpStatus: response.status, code: error.code, apiError: error.apiError, ms }, 'Bitrix24 error');
    throw error;
  }

  async function callRaw<T>(method: string, params: Record<string, unknown> = {}): Promise<Bitrix24Reply<T>> {
    if (!METHOD_NAME.test(method)) throw new TypeError(`Bitrix24 method name "${method}" is not valid`);
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const until = blockedUntil.get(method) ?? 0;
      if (until > clock.now()) {
        // Bitrix24 told us this method is blocked until then; asking again only burns the bucket.
        throw new Bitrix24OperationLimitError(`Bitrix24 ${method} is blocked by the operating-time limit until ${new Date(until).toISOString()}`, {
          apiError: 'OPERATION_TIME_LIMIT',
          method,
          retryAt: until,
        });
      }
      try {
        return await once<T>(method, params);
      } catch (error) {
        if (error instanceof Bitrix24RateLimitError && attempt < maxRetries) {
          limiter.markFull();
          const backoff = Math.round(500 * 2 ** attempt * (0.5 + Math.random() / 2));
          log.warn({ method, portal, attempt: attempt + 1, backoffMs: backoff }, 'Bitrix24 QUERY_LIMIT_EXCEEDED, retrying');
          await sleep(backoff);
          continue;
        }
        if (error instanceof Bitrix24ConfigError && error.apiError === 'expired_token' && !refreshed && (await creds.refresh())) {
          refreshed = true;
          attempt--; // a token refresh is not a rate-limit retry
          continue;
        }
        throw error;
      }
    }
  }

  async function* pages<T>(method: string, params: Record<string, unknown> = {}): AsyncGenerator<Bitrix24Page<T>> {
    let start: unknown = params.start ?? 0;
    for (;;) {
      const reply = await callRaw<unknown>(method, { ...params, start });
      const items = Array.isArray(reply.result) ? (reply.result as T[]) : [];
      yield { items, total: reply.total, next: reply.next };
      if (reply.next === undefined || items.length === 0) return;
      start = reply.next;
    }
  }

  return {
    portal,
    limiter,
    callRaw,
    async call(method, params) {
      return (await callRaw(method, params)).result as never;
    },
    pages,
    async listAll<T>(method: string, params?: Record<string, unknown>, opts: { maxItems?: number } = {}) {
      const max = opts.maxItems ?? 5000;
      const out: T[] = [];
      for await (const page of pages<T>(method, params)) {
        for (const item of page.items) {
          if (out.length >= max) return out;
          out.push(item);
        }
      }
      return out;
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Node's fetch hides the real reason (ECONNREFUSED, ...) in `cause`. */
function causeText(e: Error): string {
  const c = (e as { cause?: unknown }).cause;
  return c instanceof Error ? ` (${c.message})` : '';
}
