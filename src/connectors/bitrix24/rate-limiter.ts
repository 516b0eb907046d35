import { systemClock, type Clock } from '../../platform/clock.js';

/** The portal's leaky bucket (reference §8.2): every request adds 1, the level drains per second. */
export interface LeakyBucketBudget {
  /** 2/s on every cloud plan but Enterprise (5/s). */
  drainPerSecond: number;
  /** Requests above this level get 503 QUERY_LIMIT_EXCEEDED: 50, or 250 on Enterprise. */
  burst: number;
  /**
   * Part of the burst we leave unused: the bucket is shared per portal AND per source IP with the
   * portal's UI and other apps, and the server counts arrivals, not our sends.
   */
  reserve: number;
}

export const DEFAULT_RATE_LIMIT: LeakyBucketBudget = { drainPerSecond: 2, burst: 50, reserve: 5 };

export interface Bitrix24RateLimiter {
  readonly budget: LeakyBucketBudget;
  /**
   * Waits until one more request fits under `burst - reserve`, counts it, and returns `release`, to call
   * once the reply has arrived (success or not). Callers are served in order.
   */
  acquire(): Promise<() => void>;
  /** The portal answered QUERY_LIMIT_EXCEEDED: its bucket is full whatever we counted, so hold back. */
  markFull(): void;
  /** Current level as we count it, requests in flight included (for logs and tests). */
  level(): number;
}

export interface RateLimiterOptions {
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One per portal: share it between every client that talks to the same portal from this process.
 * The portal counts a request when it ARRIVES, somewhere between our send and its reply. So a request
 * counts in full while in flight and starts draining only once its reply is here: our level is then never
 * below the portal's, however late a request arrives (timing it at send would let a slow first burst
 * bunch up with the next one on the server).
 */
export function createLeakyBucket(budget: Partial<LeakyBucketBudget> = {}, opts: RateLimiterOptions = {}): Bitrix24RateLimiter {
  const full = { ...DEFAULT_RATE_LIMIT, ...budget };
  const capacity = full.burst - full.reserve;
  if (!(full.drainPerSecond > 0)) throw new RangeError('Bitrix24 rate limit: drainPerSecond must be above 0');
  if (!(capacity >= 1)) throw new RangeError('Bitrix24 rate limit: burst minus reserve must leave room for 1 request');
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? realSleep;
  let draining = 0; // answered requests, leaking at drainPerSecond
  let inFlight = 0; // sent, not answered: they do not leak yet
  let updatedAt = clock.now();
  let tail: Promise<unknown> = Promise.resolve();
  let released: () => void = () => {};
  let nextRelease = new Promise<void>((r) => (released = r));

  function drain(): number {
    const now = clock.now();
    draining = Math.max(0, draining - ((now - updatedAt) / 1000) * full.drainPerSecond);
    updatedAt = now;
    return draining + inFlight;
  }

  async function take(): Promise<() => void> {
    for (;;) {
      const excess = drain() + 1 - capacity;
      if (excess <= 0) {
        inFlight += 1;
        let done = false;
        return () => {
          if (done) return;
          done = true;
          drain();
          inFlight -= 1;
          draining += 1;
          released();
          nextRelease = new Promise<void>((r) => (released = r));
        };
      }
      const waitMs = Math.ceil((Math.min(excess, draining) / full.drainPerSecond) * 1000);
      // Not enough leaks out of what is draining: a reply must come first (it starts another unit draining).
      if (excess > draining) await Promise.race(draining > 0 ? [nextRelease, sleep(waitMs)] : [nextRelease]);
      else await sleep(waitMs);
    }
  }

  return {
    budget: full,
    acquire() {
      const turn = tail.then(take);
      tail = turn.catch(() => undefined);
      return turn;
    },
    markFull() {
      drain();
      draining = Math.max(draining, full.burst - inFlight);
    },
    level: drain,
  };
}
