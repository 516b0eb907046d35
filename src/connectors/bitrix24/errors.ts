/**
 * Typed Bitrix24 failures. Callers (flow modules, loads, sync) decide from `code` / `retryable` alone:
 * configuration needs a person, rate and operating-time limits need a later retry, an outage needs a
 * retry with backoff, and a rejected request needs that record marked as failed.
 */
export type Bitrix24ErrorCode =
  | 'BITRIX24_CONFIG_ERROR'
  | 'BITRIX24_RATE_LIMITED'
  | 'BITRIX24_OPERATION_LIMIT'
  | 'BITRIX24_UNAVAILABLE'
  | 'BITRIX24_REQUEST_ERROR';

export interface Bitrix24ErrorInfo {
  /** Bitrix24's `error` field (`QUERY_LIMIT_EXCEEDED`, `ERROR_CORE`, often `''` for CRM methods). */
  apiError?: string;
  /** Bitrix24's `error_description`: the only meaning CRM errors carry. */
  description?: string;
  /** Absent for errors of a batch sub-call, which arrive inside an HTTP 200. */
  httpStatus?: number;
  /** The REST method, e.g. `crm.deal.get`. Never a URL: webhook URLs contain the secret. */
  method?: string;
}

export abstract class Bitrix24Error extends Error {
  abstract readonly code: Bitrix24ErrorCode;
  abstract readonly retryable: boolean;
  readonly apiError?: string;
  readonly description?: string;
  readonly httpStatus?: number;
  readonly method?: string;

  constructor(message: string, info: Bitrix24ErrorInfo = {}) {
    super(message);
    this.name = new.target.name;
    this.apiError = info.apiError;
    this.description = info.description;
    this.httpStatus = info.httpStatus;
    this.method = info.method;
  }
}

/** Wrong or expired webhook/token, missing scope, REST not available on the plan, https required. */
export class Bitrix24ConfigError extends Bitrix24Error {
  readonly code = 'BITRIX24_CONFIG_ERROR' as const;
  readonly retryable = false;
}

/** The portal's leaky bucket overflowed (`QUERY_LIMIT_EXCEEDED`) and our bounded retries ran out. */
export class Bitrix24RateLimitError extends Bitrix24Error {
  readonly code = 'BITRIX24_RATE_LIMITED' as const;
  readonly retryable = true;
}

/**
 * `OPERATION_TIME_LIMIT`: this one method is blocked for this webhook/app; other methods still work.
 * `retryAt` (epoch ms) is Bitrix24's `operating_reset_at`, when known.
 */
export class Bitrix24OperationLimitError extends Bitrix24Error {
  readonly code = 'BITRIX24_OPERATION_LIMIT' as const;
  readonly retryable = true;
  readonly retryAt?: number;
  constructor(message: string, info: Bitrix24ErrorInfo & { retryAt?: number } = {}) {
    super(message, info);
    this.retryAt = info.retryAt;
  }
}

/** 5xx, network failure, timeout, or a reply that is not Bitrix24 JSON (an HTML error page). */
export class Bitrix24UnavailableError extends Bitrix24Error {
  readonly code = 'BITRIX24_UNAVAILABLE' as const;
  readonly retryable = true;
}

/** Bitrix24 rejected what we sent (`ERROR_CORE`, `ERROR_ARGUMENT`, bad fields, not found). */
export class Bitrix24RequestError extends Bitrix24Error {
  readonly code = 'BITRIX24_REQUEST_ERROR' as const;
  readonly retryable = false;
  /** The entity does not exist (`crm.*.get` answers `Not found`). */
  readonly notFound: boolean;
  constructor(message: string, info: Bitrix24ErrorInfo = {}) {
    super(message, info);
    this.notFound = info.apiError === 'NOT_FOUND' || /\bnot found\b/i.test(info.description ?? '');
  }
}

// Codes from the system-error table (reference §2.1) and the OAuth docs. OVERLOAD_LIMIT is a manual block
// lifted only by Bitrix24 support, so it needs a person, not a retry.
const CONFIG_ERRORS = new Set([
  'NO_AUTH_FOUND',
  'INVALID_CREDENTIALS',
  'WRONG_AUTH_TYPE',
  'expired_token',
  'invalid_token',
  'insufficient_scope',
  'user_access_error',
  'authorization_error',
  'ACCESS_DENIED',
  'INVALID_REQUEST',
  'OVERLOAD_LIMIT',
  'PAYMENT_REQUIRED',
]);
const UNAVAILABLE_ERRORS = new Set(['INTERNAL_SERVER_ERROR', 'ERROR_UNEXPECTED_ANSWER']);

/**
 * Maps Bitrix24's `error` code plus the HTTP status to a typed error. CRM methods often send an empty
 * code with the meaning only in `error_description`, so the status decides when the code says nothing.
 */
export function classifyBitrix24Error(info: Bitrix24ErrorInfo & { retryAt?: number }): Bitrix24Error {
  const { apiError, description, httpStatus, method } = info;
  const what = [apiError, description].filter(Boolean).join(': ') || (httpStatus ? `HTTP ${httpStatus}` : 'unknown error');
  const message = `Bitrix24 ${method ?? 'request'} failed: ${what}`;
  if (apiError === 'QUERY_LIMIT_EXCEEDED') return new Bitrix24RateLimitError(message, info);
  if (apiError === 'OPERATION_TIME_LIMIT') return new Bitrix24OperationLimitError(message, info);
  if (apiError && CONFIG_ERRORS.has(apiError)) return new Bitrix24ConfigError(message, info);
  if (apiError && UNAVAILABLE_ERRORS.has(apiError)) return new Bitrix24UnavailableError(message, info);
  if (!apiError && (httpStatus === 401 || httpStatus === 403)) return new Bitrix24ConfigError(message, info);
  if (httpStatus !== undefined && httpStatus >= 500) return new Bitrix24UnavailableError(message, info);
  return new Bitrix24RequestError(message, info);
}
