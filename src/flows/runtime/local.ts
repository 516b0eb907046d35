import type { LocalModule, ModuleTransport, StepOutcome } from './module.js';

/** What a local module throws to fail a step with a stable code; `retryable` decides whether retries apply. */
export class StepFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

/** Fails the step BAD_OPTIONS listing `problems` (a module's optionProblems), if there are any. */
export function failOnBadOptions(module: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new StepFailure('BAD_OPTIONS', `${module}: ${problems.join('; ')}`);
}

const DEFER = Symbol.for('conveyor.flows.defer');

/** A local module's answer "finish me later": the step waits durably, holding no worker, then succeeds with `output`. */
export interface Deferral {
  readonly [DEFER]: true;
  readonly delayMs: number;
  readonly output: unknown;
}

export function defer(delayMs: number, output: unknown): Deferral {
  return { [DEFER]: true, delayMs, output };
}

export function isDeferral(value: unknown): value is Deferral {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFER] === true;
}

/**
 * The in-process transport: calls the module's run(). A thrown StepFailure keeps its code; anything
 * else is a bug or an unexpected state, reported as MODULE_ERROR and not retried (a retry would not fix it).
 */
export function localTransport(module: LocalModule): ModuleTransport {
  return {
    kind: 'local',
    // run(input, call) cannot see a signal: creating an AbortController per call for it (a few µs) is waste.
    takesSignal: module.run.length >= 3,
    safe: module.safe,
    call(call, signal): StepOutcome | Promise<StepOutcome> {
      let result: unknown;
      try {
        result = module.run(call.input, call, signal);
      } catch (err) {
        return thrown(module, err, signal);
      }
      if (!isThenable(result)) return { ok: true, output: result };
      return Promise.resolve(result).then(
        (output): StepOutcome => ({ ok: true, output }),
        (err: unknown) => thrown(module, err, signal),
      );
    },
  };
}

function thrown(module: LocalModule, err: unknown, signal: AbortSignal): StepOutcome {
  if (err instanceof StepFailure) return { ok: false, error: { code: err.code, message: err.message, retryable: err.retryable } };
  if (signal.aborted) return { ok: false, error: { code: 'MODULE_TIMEOUT', message: `module ${module.name} did not answer in time`, retryable: true } };
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { ok: false, error: { code: 'MODULE_ERROR', message, retryable: false } };
}

const isThenable = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | null)?.then === 'function';
