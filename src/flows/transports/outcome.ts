import secureJson from 'secure-json-parse';
import type { StepError, StepOutcome } from '../runtime/module.js';

/** Where a transport reports trouble a person may need to see (pino fits). Never given a secret. */
export interface TransportLog {
  warn(o: object, m?: string): void;
}

export const silentLog: TransportLog = { warn() {} };

export function failure(code: string, message: string, retryable: boolean): StepOutcome {
  return { ok: false, error: { code, message, retryable } };
}

export const timedOut = (module: string, deadline: number): StepOutcome =>
  failure('MODULE_TIMEOUT', `module ${module} did not answer by the deadline ${new Date(deadline).toISOString()}`, true);

// Retryable: the run was not finished by the module, so a later attempt (after a resume) may do it.
export const aborted = (module: string): StepOutcome =>
  failure('MODULE_ABORTED', `call to module ${module} was aborted by the caller`, true);

/**
 * Reads a module's answer, the same JSON on every transport: `{"output": …}` or
 * `{"error": {"code", "message", "retryable"}}`. Anything else is MODULE_BAD_ANSWER (retryable: a
 * module that answers garbage is usually broken for a while, e.g. mid-deploy behind a proxy page).
 */
export function parseModuleAnswer(module: string, raw: string): StepOutcome {
  let answer: unknown;
  try {
    // secure-json-parse drops __proto__/constructor keys: outputs are merged into the run context.
    answer = secureJson.parse(raw, undefined, { protoAction: 'remove', constructorAction: 'remove' });
  } catch {
    return badAnswer(module, `not JSON: ${snippet(raw)}`);
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) {
    return badAnswer(module, `expected a JSON object with "output" or "error", got ${snippet(raw)}`);
  }
  const record = answer as Record<string, unknown>;
  if ('error' in record && record.error !== undefined && record.error !== null) {
    const error = readError(record.error);
    return error ? { ok: false, error } : badAnswer(module, `"error" must be {code: string, message: string, retryable?: boolean}, got ${snippet(JSON.stringify(record.error))}`);
  }
  if ('output' in record) return { ok: true, output: record.output };
  return badAnswer(module, `expected "output" or "error" in ${snippet(raw)}`);
}

function readError(value: unknown): StepError | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { code, message, retryable } = value as Record<string, unknown>;
  if (typeof code !== 'string' || code.length === 0) return undefined;
  if (message !== undefined && typeof message !== 'string') return undefined;
  if (retryable !== undefined && typeof retryable !== 'boolean') return undefined;
  return { code, message: message ?? '', retryable: retryable ?? false };
}

function badAnswer(module: string, detail: string): StepOutcome {
  return failure('MODULE_BAD_ANSWER', `module ${module} answered ${detail}`, true);
}

export function snippet(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty)';
}
