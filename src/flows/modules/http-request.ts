import type { LocalModule } from '../runtime/module.js';
import { failOnBadOptions, StepFailure } from '../runtime/local.js';
import { isRecord, render } from './template.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** HTTP's safe methods (RFC 9110 §9.2.1): the only ones a step may declare safe. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);
const MAX_RESPONSE_BYTES = 1_048_576;
const HTTP_URL = /^https?:\/\/./i;

/**
 * `http-request`: one HTTP call (global fetch). Options: `url`, `method` (GET), `headers`, `body` — all
 * may hold `{{ path }}` placeholders filled from the step input; without `body`, POST/PUT/PATCH send
 * the input itself. Output `{ status, body }` (JSON parsed when the answer says JSON). 5xx, 429 and
 * network trouble are retryable; other 4xx are not. The step deadline aborts the call.
 *
 * `safe: true` (GET and HEAD only) declares that the call changes nothing at the other end, as HTTP
 * says those methods should: with safe steps first (flows.safeStepsFirst) such a step may run before
 * its run is first written. It is the flow author's word, per step, since some APIs do change things
 * on a GET; without it every http-request step runs only for a written run.
 */
export const httpRequestModule: LocalModule = {
  name: 'http-request',
  safe: (options) => options.safe === true && SAFE_METHODS.has(String(options.method ?? 'GET').toUpperCase()),
  optionProblems(options) {
    const { url, method = 'GET', headers = {}, body: _body, safe = false, ...unknown } = options;
    const problems = Object.keys(unknown).map((k) => `unknown option "${k}" (allowed: url, method, headers, body, safe)`);
    if (typeof url !== 'string' || url.trim() === '') problems.push('options.url must be an http(s) URL (it may hold {{ path }} placeholders)');
    // A URL with placeholders is checked once filled in, when the step runs.
    else if (!url.includes('{{') && !HTTP_URL.test(url)) problems.push(`options.url must be an http(s) URL, not "${url.slice(0, 100)}"`);
    const verb = typeof method === 'string' ? method.toUpperCase() : '';
    if (!METHODS.includes(verb)) problems.push(`options.method must be one of ${METHODS.join(', ')}`);
    if (!isRecord(headers)) problems.push('options.headers must be a mapping');
    if (typeof safe !== 'boolean') problems.push('options.safe must be true or false');
    else if (safe && METHODS.includes(verb) && !SAFE_METHODS.has(verb)) problems.push(`options.safe is for GET and HEAD only: a ${verb} changes things at the other end`);
    return problems;
  },
  async run(input, call, signal) {
    failOnBadOptions('http-request', httpRequestModule.optionProblems!(call.options));
    const { url, method = 'GET', headers = {}, body } = call.options as { url: string; method?: string; headers?: Record<string, unknown>; body?: unknown };
    const target = String(render(url, input) ?? '');
    if (!HTTP_URL.test(target)) throw new StepFailure('BAD_OPTIONS', `http-request: options.url must be an http(s) URL; filled in from the input it is "${target.slice(0, 100)}"`);
    const verb = method.toUpperCase();

    const sendHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(render(headers, input) as Record<string, unknown>)) sendHeaders[k.toLowerCase()] = String(v ?? '');
    let payload: string | undefined;
    if (WITH_BODY.has(verb)) {
      const value = body === undefined ? (verb === 'DELETE' ? undefined : input) : render(body, input);
      if (value !== undefined) {
        payload = typeof value === 'string' ? value : JSON.stringify(value);
        sendHeaders['content-type'] ??= typeof value === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
      }
    }
    sendHeaders['idempotency-key'] ??= call.idempotencyKey;

    let response: Response;
    try {
      response = await fetch(target, { method: verb, headers: sendHeaders, body: payload, signal, redirect: 'follow' });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new StepFailure('HTTP_UNREACHABLE', `http-request: ${verb} ${target} failed: ${causeOf(err)}`, true);
    }
    const raw = await readLimited(response);
    const isJson = /\bjson\b/i.test(response.headers.get('content-type') ?? '');
    let parsed: unknown = raw;
    if (isJson && raw !== '') {
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new StepFailure('HTTP_BAD_ANSWER', `http-request: ${verb} ${target} answered invalid JSON`, true);
      }
    }
    if (response.status >= 400) {
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
      throw new StepFailure(`HTTP_${response.status}`, `http-request: ${verb} ${target} answered ${response.status}: ${raw.slice(0, 300)}`, retryable);
    }
    return { status: response.status, body: parsed };
  },
};

async function readLimited(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_RESPONSE_BYTES) throw new StepFailure('HTTP_ANSWER_TOO_LARGE', `http-request: the answer is ${length} bytes, over ${MAX_RESPONSE_BYTES}`);
  const text = await response.text();
  if (Buffer.byteLength(text) > MAX_RESPONSE_BYTES) throw new StepFailure('HTTP_ANSWER_TOO_LARGE', `http-request: the answer is over ${MAX_RESPONSE_BYTES} bytes`);
  return text;
}

function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
