/**
 * The one registry of error codes. Each code has a fixed HTTP status; the message is written for a
 * person who has to act on it. Handlers throw `AppError`s; the HTTP layer maps them in one place.
 */
export const ERRORS = {
  MALFORMED_REQUEST: { httpStatus: 400, message: 'The request could not be read' },
  MALFORMED_JSON: { httpStatus: 400, message: 'The request body is not valid JSON' },
  INVALID_ENCODING: { httpStatus: 400, message: 'The request body is not valid in its declared character encoding' },
  UNSUPPORTED_MEDIA_TYPE: { httpStatus: 415, message: 'Send the body as application/json' },
  UNAUTHENTICATED: { httpStatus: 401, message: 'Authentication required: use HTTP Basic Auth with an employee username and password' },
  BAD_CREDENTIALS: { httpStatus: 401, message: 'Username or password is wrong' },
  FORBIDDEN: { httpStatus: 403, message: 'Your roles do not permit this' },
  NOT_FOUND: { httpStatus: 404, message: 'Not found' },
  ROUTE_NOT_FOUND: { httpStatus: 404, message: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { httpStatus: 405, message: 'Method not allowed on this endpoint' },
  CONFLICT: { httpStatus: 409, message: 'Conflicts with existing data' },
  PAYLOAD_TOO_LARGE: { httpStatus: 413, message: 'The request body is too large' },
  VALIDATION_FAILED: { httpStatus: 422, message: 'The request is not valid' },
  REFERENCE_NOT_FOUND: { httpStatus: 422, message: 'A referenced record does not exist' },
  LOCKED_OUT: { httpStatus: 429, message: 'Too many failed sign-ins; try again later' },
  THROTTLED: { httpStatus: 429, message: 'Too many requests' },
  NOT_READY: { httpStatus: 503, message: 'The hub is not ready' },
  INTERNAL: { httpStatus: 500, message: 'Internal error; the details are in the server log' },
} as const satisfies Record<string, { httpStatus: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly code: ErrorCode,
    description?: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(description ?? ERRORS[code].message);
    this.httpStatus = ERRORS[code].httpStatus;
  }
}

export const notFound = (what: string, id: unknown) => new AppError('NOT_FOUND', `${what} ${String(id)} does not exist`);
