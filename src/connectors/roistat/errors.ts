/**
 * Typed Roistat failures. The sync layer decides what to do from `code` / `retryable` alone:
 * configuration problems need a person, rate limits and outages need a later retry, and a bad
 * record needs that record marked as failed while the rest go through.
 */
export type RoistatErrorCode =
  | 'ROISTAT_CONFIG_ERROR'
  | 'ROISTAT_RATE_LIMITED'
  | 'ROISTAT_UNAVAILABLE'
  | 'ROISTAT_REQUEST_ERROR';

export interface RoistatErrorInfo {
  /** Roistat's own error name from the body (`option_not_enabled`, ...), when there was one. */
  apiError?: string;
  httpStatus?: number;
  /** e.g. `{ option: 'clients' }` on 402. */
  details?: unknown;
  /** `METHOD path`, for the operator; never contains the key. */
  endpoint?: string;
  cause?: unknown;
}

export abstract class RoistatError extends Error {
  abstract readonly code: RoistatErrorCode;
  abstract readonly retryable: boolean;
  readonly apiError?: string;
  readonly httpStatus?: number;
  readonly details?: unknown;
  readonly endpoint?: string;

  constructor(message: string, info: RoistatErrorInfo = {}) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = new.target.name;
    this.apiError = info.apiError;
    this.httpStatus = info.httpStatus;
    this.details = info.details;
    this.endpoint = info.endpoint;
  }
}

/** Bad key/project, unpaid or disabled option, frozen project, no access: retrying will not help. */
export class RoistatConfigError extends RoistatError {
  readonly code = 'ROISTAT_CONFIG_ERROR' as const;
  readonly retryable = false;
}

/** The project's shared budget is spent (Roistat's 429 or our own hourly budget). */
export class RoistatRateLimitError extends RoistatError {
  readonly code = 'ROISTAT_RATE_LIMITED' as const;
  readonly retryable = true;
  /** How long to wait before trying again, when known. */
  readonly retryAfterMs?: number;
  constructor(message: string, info: RoistatErrorInfo & { retryAfterMs?: number } = {}) {
    super(message, info);
    this.retryAfterMs = info.retryAfterMs;
  }
}

/** 5xx, network failure, timeout or an unreadable reply. */
export class RoistatUnavailableError extends RoistatError {
  readonly code = 'ROISTAT_UNAVAILABLE' as const;
  readonly retryable = true;
}

/** Roistat rejected what we sent (validation, malformed request): a record is bad, not the connection. */
export class RoistatRequestError extends RoistatError {
  readonly code = 'ROISTAT_REQUEST_ERROR' as const;
  readonly retryable = false;
}

const CONFIG_ERRORS = new Set([
  'authentication_failed',
  'access_denied',
  'insufficient_funds',
  'option_not_available',
  'option_not_enabled',
  'option_not_paid',
  'project_frozen',
]);
// `authorization_failed` means Roistat could not reach the CRM behind the call: transient, not ours.
const UNAVAILABLE_ERRORS = new Set(['internal_error', 'unknown_error', 'integration_error', 'authorization_failed']);

/**
 * Maps an HTTP status plus Roistat's error name to a typed error. The body's error name wins over the
 * status, because without `Use-Http-Code` (or behind a proxy) every error arrives as HTTP 200.
 */
export function classifyRoistatError(
  httpStatus: number,
  apiError: string | undefined,
  description: string | undefined,
  info: RoistatErrorInfo & { retryAfterMs?: number },
): RoistatError {
  const what = apiError ? `${apiError}${description ? `: ${description}` : ''}` : `HTTP ${httpStatus}`;
  const message = `Roistat ${info.endpoint ?? 'request'} failed: ${what}`;
  const full = { ...info, apiError, httpStatus };
  if (apiError === 'request_limit_error' || httpStatus === 429) return new RoistatRateLimitError(message, full);
  if (apiError && CONFIG_ERRORS.has(apiError)) return new RoistatConfigError(message, full);
  if (apiError && UNAVAILABLE_ERRORS.has(apiError)) return new RoistatUnavailableError(message, full);
  if (httpStatus === 401 || httpStatus === 402 || httpStatus === 403) return new RoistatConfigError(message, full);
  if (httpStatus >= 500) return new RoistatUnavailableError(message, full);
  return new RoistatRequestError(message, full);
}
