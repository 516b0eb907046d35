import type { StepOutcome } from '../runtime/module.js';
import { aborted, timedOut } from './outcome.js';

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
