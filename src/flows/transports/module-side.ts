import secureJson from 'secure-json-parse';
import type { StepCall, StepError } from '../runtime/module.js';

/**
 * A module's work for one step, as the serve helpers call it: the step's input, the whole call
 * (idempotencyKey, attempt, options, deadline) and a signal that fires at the call's deadline.
 * Return the output. Throw an error carrying `code` (string) and `retryable` (boolean), e.g. the
 * runtime's StepFailure, to answer with that error; any other throw answers MODULE_ERROR, not retryable.
 */
export type ModuleHandler = (input: unknown, call: StepCall, signal: AbortSignal) => unknown;

/** A module served by serveNatsModule / serveRabbitModule. */
export interface ServedModule {
  /** Stops taking calls, lets the running ones answer, disconnects. */
  close(): Promise<void>;
}

const NEVER_ABORTED = new AbortController().signal;

export type ModuleAnswer = { output: unknown } | { error: StepError };

/** Runs the handler and turns its result or exception into the answer JSON of the contract. */
export async function answerCall(handler: ModuleHandler, call: StepCall): Promise<ModuleAnswer> {
  // A handler that declares no signal cannot look at one: no timer for it (AbortSignal.timeout costs one per call).
  const signal = handler.length >= 3 ? AbortSignal.timeout(Math.max(0, call.deadline - Date.now())) : NEVER_ABORTED;
  try {
    const output = await handler(call.input, call, signal);
    return { output: output === undefined ? null : output };
  } catch (err) {
    return { error: errorOf(err) };
  }
}

function errorOf(err: unknown): StepError {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; retryable?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  // Both fields, so a Node system error (code ECONNREFUSED, no retryable) is not mistaken for a module's answer.
  if (typeof e.code === 'string' && e.code.length > 0 && typeof e.retryable === 'boolean') {
    return { code: e.code, message, retryable: e.retryable };
  }
  // As for local modules: an unclassified exception is a bug or an unexpected state; a retry would not fix it.
  return { code: 'MODULE_ERROR', message, retryable: false };
}

/** Parses a delivered call; undefined for a message that is not a StepCall (the broker then drops it). */
export function parseStepCall(raw: string): StepCall | undefined {
  try {
    const call = secureJson.parse(raw, undefined, { protoAction: 'remove', constructorAction: 'remove' }) as StepCall;
    const ok =
      call !== null &&
      typeof call === 'object' &&
      typeof call.idempotencyKey === 'string' &&
      typeof call.attempt === 'number' &&
      typeof call.deadline === 'number' &&
      typeof call.stepId === 'string';
    return ok ? call : undefined;
  } catch {
    return undefined;
  }
}

/** `<idempotencyKey>:<attempt>`: one per try, so broker dedup never swallows a real retry. */
export const correlationIdOf = (call: StepCall): string => `${call.idempotencyKey}:${call.attempt}`;

const MODULE_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Module names become subject/queue names: dot-separated tokens of letters, digits, `_` and `-`. */
export function assertModuleName(module: string): void {
  if (!MODULE_NAME.test(module)) {
    throw new Error(`module name ${JSON.stringify(module)} cannot be a queue name: use dot-separated tokens of letters, digits, "_" and "-"`);
  }
}
