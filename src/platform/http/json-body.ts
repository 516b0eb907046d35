import iconv from 'iconv-lite';
import sjson from 'secure-json-parse';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import type { HubApp } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies are decoded strictly: UTF-8 unless the Content-Type names another charset that we
 * can decode (windows-1251 and koi8-r are common in Russian back offices). Invalid bytes are an
 * error, not silently replaced; `__proto__` keys are refused.
 */
export function registerJsonBodyParser(app: HubApp): void {
  // JSON only: Fastify's text/plain parser would let a text body reach validation (422 instead of 415).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json/, { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    try {
      done(null, parseJsonBody(body, request.headers['content-type']));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

export function parseJsonBody(body: Buffer, contentType: string | undefined): unknown {
  if (body.length === 0) return undefined;
  const text = decode(body, charsetOf(contentType));
  try {
    return sjson.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw new AppError('MALFORMED_JSON', `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

function charsetOf(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return (match?.[1] ?? 'utf-8').toLowerCase();
}

function decode(body: Buffer, charset: string): string {
  if (charset === 'utf-8' || charset === 'utf8') {
    try {
      return utf8.decode(body);
    } catch {
      throw new AppError(
        'INVALID_ENCODING',
        'The request body is not valid UTF-8. Send UTF-8, or name the real encoding in the Content-Type (e.g. "application/json; charset=windows-1251").',
      );
    }
  }
  if (!iconv.encodingExists(charset)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Unknown charset "${charset}" in Content-Type; send UTF-8`);
  }
  return iconv.decode(body, charset);
}
