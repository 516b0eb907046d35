import type { StepCall, StepOutcome } from '../runtime/module.js';
import { correlationIdOf } from './module-side.js';
import { aborted, failure, timedOut, type TransportLog } from './outcome.js';

/** One call waiting for its answer, which may arrive before anyone awaits it (fast callbacks/replies). */
export interface Waiter {
  settle(outcome: StepOutcome): void;
  readonly answer: Promise<StepOutcome>;
}

export function createWaiter(): Waiter {
  let settle!: (outcome: StepOutcome) => void;
  const answer = new Promise<StepOutcome>((resolve) => (settle = resolve));
  return { settle, answer };
}

// setTimeout overflows past 2^31-1 ms and would then fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The answer, or MODULE_TIMEOUT at `deadline`, or MODULE_ABORTED when `signal` fires — whichever is first.
 * Never rejects and never leaves a timer or listener behind.
 */
export function awaitAnswer(answer: Promise<StepOutcome>, module: string, deadline: number, signal: AbortSignal): Promise<StepOutcome> {
  if (signal.aborted) return Promise.resolve(aborted(module));
  return new Promise<StepOutcome>((resolve) => {
    const finish = (outcome: StepOutcome) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish(aborted(module));
    const timer = setTimeout(() => finish(timedOut(module, deadline)), Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS));
    signal.addEventListener('abort', onAbort, { once: true });
    void answer.then(finish);
  });
}

/** The earlier of the step's own deadline and the transport's per-call limit. */
export function effectiveDeadline(callDeadline: number, timeoutMs: number): number {
  return Math.min(callDeadline, Date.now() + timeoutMs);
}

/**
 * The common shape of a call over a broker: register a waiter under the call's correlation id, publish,
 * and wait for the reply (or the deadline, or an abort). A failed publish is a retryable
 * MODULE_UNREACHABLE naming `where`. The waiter is removed whatever happens.
 */
export async function publishAndAwait(
  step: StepCall,
  signal: AbortSignal,
  opts: { timeoutMs: number; waiting: Map<string, Set<Waiter>>; where: string; log: TransportLog },
  publish: (correlationId: string, deadline: number) => Promise<void>,
): Promise<StepOutcome> {
  if (signal.aborted) return aborted(step.module);
  const deadline = effectiveDeadline(step.deadline, opts.timeoutMs);
  if (deadline <= Date.now()) return timedOut(step.module, deadline);
  const correlationId = correlationIdOf(step);
  const waiter = createWaiter();
  const set = opts.waiting.get(correlationId) ?? new Set<Waiter>();
  set.add(waiter);
  opts.waiting.set(correlationId, set);
  try {
    try {
      await publish(correlationId, deadline);
    } catch (err) {
      if (signal.aborted) return aborted(step.module);
      const message = (err as Error).message;
      opts.log.warn({ module: step.module, where: opts.where, err: message }, 'publishing a module call failed');
      return failure('MODULE_UNREACHABLE', `could not queue the call for module ${step.module} on ${opts.where}: ${message}`, true);
    }
    return await awaitAnswer(waiter.answer, step.module, deadline, signal);
  } finally {
    set.delete(waiter);
    if (set.size === 0) opts.waiting.delete(correlationId);
  }
}
