import { randomBytes } from 'node:crypto';
import type { ModuleTransport, StepCall, StepOutcome } from '../runtime/module.js';
import { aborted, failure, parseModuleAnswer, silentLog, snippet, timedOut, type TransportLog } from './outcome.js';
import { signConveyorBody, verifyConveyorSignature } from './signature.js';
import { awaitAnswer, createWaiter, type Waiter } from './waiter.js';

export interface HttpTransportOptions {
  /** The module's URL; every call is a POST to it. */
  url: string;
  /** Shared with the module; signs requests and verifies callbacks. Never logged. */
  secret: string;
  /** Longest wait for the HTTP answer itself (never past the call's deadline). */
  timeoutMs: number;
  /**
   * Where this hub receives callbacks for this module; each call gets `<callbackBaseUrl>/<token>`.
   * Without it, calls carry only `callbackToken` and a module answering 202 gets MODULE_NO_CALLBACK_URL.
   */
  callbackBaseUrl?: string;
  /** Largest answer body read, in bytes (default 4 MiB); larger is MODULE_ANSWER_TOO_LARGE. */
  maxAnswerBytes?: number;
  fetch?: typeof fetch;
  log?: TransportLog;
}

export interface HttpTransport extends ModuleTransport {
  /** Completes a call the module answered 202 to; true if a call was waiting for this token. */
  handleCallback(token: string, rawBody: string, signature: string | undefined): Promise<boolean>;
}

/** What the module receives: the StepCall plus where and how to call back if it answers 202. */
export type HttpStepRequest = StepCall & { callbackToken: string; callbackUrl?: string };

const DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024;
// 408/425/429 say "not now" rather than "never": retrying them is the point.
const RETRYABLE_4XX = new Set([408, 425, 429]);

export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const doFetch = opts.fetch ?? fetch;
  const log = opts.log ?? silentLog;
  const maxAnswerBytes = opts.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const target = safeUrl(opts.url);
  /** Calls in flight by callback token; a token leaves as soon as its call has an outcome. */
  const waiting = new Map<string, { module: string; waiter: Waiter }>();

  async function call(step: StepCall, signal: AbortSignal): Promise<StepOutcome> {
    if (signal.aborted) return aborted(step.module);
    const remaining = step.deadline - Date.now();
    if (remaining <= 0) return timedOut(step.module, step.deadline);

    const token = randomBytes(24).toString('base64url');
    const waiter = createWaiter();
    // Registered before the POST: a quick module may call back before its 202 reaches us.
    waiting.set(token, { module: step.module, waiter });
    try {
      const answer = await post(step, token, signal, Math.min(opts.timeoutMs, remaining));
      if (answer !== 'callback') return answer;
      if (!opts.callbackBaseUrl) {
        return failure('MODULE_NO_CALLBACK_URL', `module ${step.module} answered 202 but this hub has no callback URL configured for it`, false);
      }
      return await awaitAnswer(waiter.answer, step.module, step.deadline, signal);
    } finally {
      waiting.delete(token);
    }
  }

  async function post(step: StepCall, token: string, signal: AbortSignal, timeoutMs: number): Promise<StepOutcome | 'callback'> {
    const request: HttpStepRequest = { ...step, callbackToken: token };
    if (opts.callbackBaseUrl) request.callbackUrl = `${opts.callbackBaseUrl.replace(/\/+$/, '')}/${token}`;
    const body = JSON.stringify(request);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    let status: number;
    let text: string;
    try {
      const res = await doFetch(opts.url, {
        method: 'POST',
        redirect: 'manual',
        signal: both,
        headers: {
          'content-type': 'application/json',
          'x-conveyor-timestamp': timestamp,
          'x-conveyor-signature': signConveyorBody(opts.secret, timestamp, body),
          // The step's key, the same on every attempt: the module dedupes side effects on it.
          'idempotency-key': step.idempotencyKey,
          'x-conveyor-attempt': String(step.attempt),
        },
        body,
      });
      status = res.status;
      const read = await readLimited(res, maxAnswerBytes);
      if (read === undefined) {
        return failure('MODULE_ANSWER_TOO_LARGE', `module ${step.module} answered more than ${maxAnswerBytes} bytes`, false);
      }
      text = read;
    } catch (err) {
      if (signal.aborted) return aborted(step.module);
      if (timeout.aborted) {
        return failure('MODULE_TIMEOUT', `module ${step.module} at ${target} did not answer within ${timeoutMs} ms`, true);
      }
      const cause = describe(err);
      log.warn({ module: step.module, url: target, cause }, 'module unreachable');
      return failure('MODULE_UNREACHABLE', `module ${step.module} at ${target} is unreachable: ${cause}`, true);
    }
    return classify(step.module, status, text);
  }

  function classify(module: string, status: number, text: string): StepOutcome | 'callback' {
    if (status === 202 && isCallbackPromise(text)) return 'callback';
    if (status >= 200 && status < 300) return parseModuleAnswer(module, text);
    if (status >= 500) {
      return failure(`MODULE_HTTP_${status}`, `module ${module} at ${target} failed with HTTP ${status}: ${moduleMessage(text)}`, true);
    }
    if (status >= 400) {
      return failure(`MODULE_HTTP_${status}`, `module ${module} refused the call with HTTP ${status}: ${moduleMessage(text)}`, RETRYABLE_4XX.has(status));
    }
    return failure('MODULE_BAD_ANSWER', `module ${module} at ${target} answered HTTP ${status}; expected 200 or 202 (configure the final URL, redirects are not followed)`, false);
  }

  async function handleCallback(token: string, rawBody: string, signature: string | undefined): Promise<boolean> {
    const entry = waiting.get(token);
    if (!entry) return false;
    if (!verifyConveyorSignature(opts.secret, token, rawBody, signature)) {
      // The call keeps waiting: a forged or broken callback must not decide the step.
      log.warn({ module: entry.module, url: target }, 'callback with a bad signature ignored');
      return false;
    }
    waiting.delete(token);
    entry.waiter.settle(parseModuleAnswer(entry.module, rawBody));
    return true;
  }

  return { kind: 'http', call, handleCallback };
}

function isCallbackPromise(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { callback?: unknown } | null;
    return parsed !== null && typeof parsed === 'object' && parsed.callback === true;
  } catch {
    return false;
  }
}

/** The module's own words from an error body: `{error:{message}}`, `{message}`, or the text itself. */
function moduleMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed?.error === 'object' && typeof parsed.error?.message === 'string') return parsed.error.message;
    if (typeof parsed?.error === 'string') return parsed.error;
    if (typeof parsed?.message === 'string') return parsed.message;
  } catch {
    // not JSON: fall through to the text
  }
  return snippet(text);
}

async function readLimited(res: Response, maxBytes: number): Promise<string | undefined> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await res.body.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** The URL as logs and messages show it: without credentials or query (which may carry tokens). */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    throw new Error(`module URL ${JSON.stringify(url)} is not a valid URL`);
  }
}
