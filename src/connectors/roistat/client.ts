import { systemClock, type Clock } from '../../platform/clock.js';
import { sendWithBisection, type BulkResult } from './batches.js';
import {
  RoistatConfigError,
  RoistatError,
  RoistatRateLimitError,
  RoistatUnavailableError,
  classifyRoistatError,
} from './errors.js';
import { createRateLimiter, DEFAULT_RATE_LIMIT, type RateLimitBudget, type RateLimiter } from './rate-limiter.js';
import {
  ADD_ORDERS_COUNTER_KEYS,
  type AddOrdersCounters,
  type RoistatClientRecord,
  type RoistatOrderRecord,
  type RoistatStatus,
} from './types.js';

export const DEFAULT_BASE_URL = 'https://cloud.roistat.com/api/v1';

/** The subset of a pino logger the client uses; anything with these two methods will do. */
export interface RoistatLog {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RoistatClientOptions {
  baseUrl?: string;
  apiKey: string;
  project: string | number;
  /** Budget for this project; ignored when `limiter` is given. */
  rateLimit?: Partial<RateLimitBudget>;
  /** Share one limiter between every client of the same project (the budget is per project). */
  limiter?: RateLimiter;
  fetch?: typeof fetch;
  clock?: Clock;
  log?: RoistatLog;
  /** Per-request timeout; a timeout is an outage (retryable). Default 30 s. */
  timeoutMs?: number;
}

export interface RoistatClient {
  readonly project: string;
  readonly limiter: RateLimiter;
  /** POST /project/clients/import — upsert by `id`. Replies with nothing but success. */
  importClients(clients: RoistatClientRecord[]): Promise<void>;
  /** POST /project/add-orders — upsert by `id`; returns Roistat's counters. */
  addOrders(orders: RoistatOrderRecord[]): Promise<AddOrdersCounters>;
  /** POST /project/set-statuses — REPLACES the whole dictionary: always pass the complete list. */
  setStatuses(statuses: RoistatStatus[]): Promise<void>;
  /** importClients in batches with bisection of rejected batches; per-record results. */
  importClientsInBatches(clients: RoistatClientRecord[], opts?: { batchSize?: number }): Promise<BulkResult<RoistatClientRecord, void>>;
  addOrdersInBatches(orders: RoistatOrderRecord[], opts?: { batchSize?: number }): Promise<BulkResult<RoistatOrderRecord, AddOrdersCounters>>;
  /** Low-level call: rate-limited, envelope-checked. Returns the parsed success body. */
  call(path: string, body: unknown): Promise<Record<string, unknown>>;
}

const silentLog: RoistatLog = { debug() {}, warn() {} };

export function createRoistatClient(options: RoistatClientOptions): RoistatClient {
  const apiKey = typeof options.apiKey === 'string' ? options.apiKey.trim() : '';
  const project = options.project === undefined || options.project === null ? '' : String(options.project).trim();
  if (!apiKey) throw new RoistatConfigError('Roistat API key is not configured');
  if (!project) throw new RoistatConfigError('Roistat project number is not configured');
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const limiter =
    options.limiter ?? createRateLimiter({ ...DEFAULT_RATE_LIMIT, ...options.rateLimit }, { clock });

  async function call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const endpoint = `POST ${path}`;
    const release = await limiter.acquire();
    const url = `${baseUrl}${path}?project=${encodeURIComponent(project)}`;
    const started = clock.now();
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          'Api-key': apiKey, // header, never the `key` query parameter: URLs end up in logs
          'Use-Http-Code': '1',
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      release();
      const reason = cause instanceof Error ? cause.message : String(cause);
      log.warn({ endpoint, project, ms: clock.now() - started, reason }, 'Roistat unreachable');
      throw new RoistatUnavailableError(`Roistat ${endpoint} failed: ${reason}`, { endpoint, cause });
    }
    release();
    log.debug({ endpoint, project, httpStatus: response.status, ms: clock.now() - started }, 'Roistat call');

    const parsed = parseBody(text);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), clock.now());
    // Success needs BOTH a 2xx and `"status":"success"`: Roistat reports errors as HTTP 200 by default.
    if (response.ok && parsed && parsed.status === 'success') return parsed;

    let error: RoistatError;
    if (!parsed) {
      error =
        response.status === 429
          ? new RoistatRateLimitError(`Roistat ${endpoint} failed: HTTP 429`, { endpoint, httpStatus: 429, retryAfterMs })
          : response.ok || response.status >= 500
            ? new RoistatUnavailableError(`Roistat ${endpoint} failed: unreadable reply (HTTP ${response.status})`, {
                endpoint,
                httpStatus: response.status,
              })
            : classifyRoistatError(response.status, undefined, undefined, { endpoint });
    } else {
      const apiError = typeof parsed.error === 'string' ? parsed.error : undefined;
      const description =
        typeof parsed.description === 'string' ? parsed.description : typeof parsed.message === 'string' ? parsed.message : undefined;
      error = classifyRoistatError(response.status, apiError ?? (response.ok ? 'unknown_error' : undefined), description, {
        endpoint,
        details: parsed.details,
        retryAfterMs,
      });
    }
    if (error instanceof RoistatRateLimitError) limiter.pauseFor(error.retryAfterMs ?? 1000);
    log.warn({ endpoint, project, code: error.code, apiError: error.apiError, httpStatus: response.status }, 'Roistat error');
    throw error;
  }

  const client: RoistatClient = {
    project,
    limiter,
    call,
    async importClients(clients) {
      await call('/project/clients/import', clients);
    },
    async addOrders(orders) {
      return countersOf(await call('/project/add-orders', orders));
    },
    async setStatuses(statuses) {
      await call('/project/set-statuses', statuses);
    },
    importClientsInBatches(clients, opts) {
      return sendWithBisection(clients, (batch) => client.importClients(batch), opts);
    },
    addOrdersInBatches(orders, opts) {
      return sendWithBisection(orders, (batch) => client.addOrders(batch), opts);
    },
  };
  return client;
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After is either delta-seconds or an HTTP date. */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function countersOf(body: Record<string, unknown>): AddOrdersCounters {
  const out = { comment: typeof body.comment === 'string' ? body.comment : '' } as AddOrdersCounters;
  for (const key of ADD_ORDERS_COUNTER_KEYS) {
    const n = Number(body[key] ?? 0);
    out[key] = Number.isFinite(n) ? n : 0;
  }
  return out;
}
