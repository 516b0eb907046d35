import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ERRORS, type ErrorCode } from '../errors/index.js';

/** Every error leaves the hub as `{ error: CODE, description, details? }`; never a stack trace. */
export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  if (error.httpStatus === 401) reply.header('www-authenticate', 'Basic realm="Conveyor", charset="UTF-8"');
  const body: Record<string, unknown> = { error: error.code, description: error.message };
  if (error.details !== undefined) body.details = error.details;
  return reply.code(error.httpStatus).send(body);
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
};

export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError;
  if (fe.validation) {
    const details = fe.validation.map((v) => ({
      field: `${fe.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`.replace(/^body\.?/, '') || '(body)',
      message: describeValidation(v.message ?? 'is invalid', v.params as Record<string, unknown>),
    }));
    const where = fe.validationContext ?? 'body';
    // A body that parses but breaks the rules is 422; a bad path or query string is a malformed request.
    return new AppError(
      where === 'body' ? 'VALIDATION_FAILED' : 'MALFORMED_REQUEST',
      `The request ${where} is not valid: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`,
      details,
    );
  }
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new AppError(mapped, mapped === 'MALFORMED_JSON' ? `The request body is not valid JSON: ${fe.message}` : undefined);
  if (error instanceof SyntaxError) return new AppError('MALFORMED_JSON', `The request body is not valid JSON: ${error.message}`);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = (Object.keys(ERRORS) as ErrorCode[]).find((c) => ERRORS[c].httpStatus === fe.statusCode) ?? 'MALFORMED_REQUEST';
    return new AppError(code, fe.message);
  }
  return new AppError('INTERNAL');
}

function describeValidation(message: string, params: Record<string, unknown> | undefined): string {
  if (params?.additionalProperty) return `has an unknown field "${String(params.additionalProperty)}"`;
  if (params?.missingProperty) return `is missing the required field "${String(params.missingProperty)}"`;
  return message;
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appError = toAppError(error);
  if (appError.httpStatus >= 500) request.log.error({ err: error, reqId: request.id, method: request.method, url: request.url }, 'request failed');
  return sendError(reply, appError);
}
