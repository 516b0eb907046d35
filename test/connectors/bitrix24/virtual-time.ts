import type { Clock } from '../../../src/platform/clock.js';

/**
 * Virtual time shared by the client's limiter and the emulator's bucket: `sleep` moves the clock forward
 * at once, so waits of seconds take no real time and nothing depends on how fast the machine is.
 */
export function virtualTime(start = Date.UTC(2025, 0, 1)): { clock: Clock; sleep: (ms: number) => Promise<void>; advance(ms: number): void; elapsed(): number } {
  let now = start;
  return {
    clock: { now: () => now },
    async sleep(ms) {
      now += Math.max(0, ms);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    advance(ms) {
      now += ms;
    },
    elapsed: () => now - start,
  };
}
