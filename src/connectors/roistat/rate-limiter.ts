import { systemClock, type Clock } from '../../platform/clock.js';
import { RoistatRateLimitError } from './errors.js';

export interface RateLimitBudget {
  /** Roistat allows 10/s per project, shared with every other integration and the UI. */
  perSecond: number;
  /** Roistat allows 5000/h per project. */
  perHour: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitBudget = { perSecond: 10, perHour: 5000 };

export interface RateLimiterOptions {
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Extra width added to the one-second window. Requests reach the server with jitter, so spacing them
   * exactly 1000 ms apart could still look like N+1 in one server-side second.
   */
  marginMs?: number;
}

export interface RateLimiter {
  readonly budget: RateLimitBudget;
  /**
   * Waits for a per-second slot and returns `release`, to call when the reply has arrived (success or not).
   * Throws RoistatRateLimitError when the hourly budget is spent: waiting up to an hour is the caller's call.
   */
  acquire(): Promise<() => void>;
  /** Roistat said 429: hold every caller of this project back until then. */
  pauseFor(ms: number): void;
}

const HOUR = 3_600_000;
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Slot {
  /** When the reply arrived; Infinity while the request is in flight. */
  end: number;
  done: Promise<void>;
}

/**
 * Per-project limiter: at most `perSecond` requests in any one-second window as the SERVER sees it.
 * The server sees a request somewhere between our send and its reply, so a slot is held until the reply
 * and then for a further second; a plain token bucket (timed at send) lets a burst whose first requests
 * were slow to arrive bunch up with the next burst, and a full bucket allows 2N in just over a second.
 * The hourly budget is counted at send time. Callers are served strictly in order through a promise chain.
 */
export function createRateLimiter(budget: RateLimitBudget = DEFAULT_RATE_LIMIT, opts: RateLimiterOptions = {}): RateLimiter {
  if (!(budget.perSecond >= 1) || !(budget.perHour >= 1)) throw new RangeError('Roistat rate limit budget must be at least 1 request');
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? realSleep;
  const second = 1000 + (opts.marginMs ?? 10);
  let slots: Slot[] = []; // in flight, or finished less than a second ago
  const hourly: number[] = []; // send times within the last hour, oldest first
  let pausedUntil = 0;
  let tail: Promise<unknown> = Promise.resolve();

  async function take(): Promise<() => void> {
    for (;;) {
      const now = clock.now();
      slots = slots.filter((s) => s.end > now - second);
      while (hourly.length > 0 && hourly[0] <= now - HOUR) hourly.shift();
      if (hourly.length >= budget.perHour) {
        const retryAfterMs = hourly[0] + HOUR - now;
        throw new RoistatRateLimitError(`Roistat hourly budget of ${budget.perHour} requests is spent`, { retryAfterMs });
      }
      if (pausedUntil > now) {
        await sleep(pausedUntil - now);
        continue;
      }
      if (slots.length < budget.perSecond) {
        let release!: () => void;
        const slot: Slot = { end: Infinity, done: new Promise<void>((r) => (release = r)) };
        slots.push(slot);
        hourly.push(now);
        return () => {
          if (slot.end === Infinity) slot.end = clock.now();
          release();
        };
      }
      // Full: wait for the earliest finished slot to age out, or for an in-flight one to finish.
      const finished = slots.filter((s) => s.end !== Infinity).map((s) => s.end + second - now);
      const waits: Promise<unknown>[] = slots.filter((s) => s.end === Infinity).map((s) => s.done);
      if (finished.length > 0) waits.push(sleep(Math.max(1, Math.min(...finished))));
      await Promise.race(waits);
    }
  }

  return {
    budget: { ...budget },
    acquire() {
      const turn = tail.then(take);
      tail = turn.catch(() => undefined); // one caller's failure must not block the queue
      return turn;
    },
    pauseFor(ms: number) {
      pausedUntil = Math.max(pausedUntil, clock.now() + Math.max(0, ms));
    },
  };
}
