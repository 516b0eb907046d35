/**
 * Delay before retry number `attempt` (1 = after the first failure): exponential backoff with
 * full jitter (AWS "Exponential Backoff and Jitter"), so many jobs failing together against the
 * same remote spread out instead of retrying in lockstep.
 */
export function retryDelayMs(attempt: number, baseMs = 1000, capMs = 3_600_000, random: () => number = Math.random): number {
  // Clamp the exponent so 2 ** n stays finite for absurd attempt counts.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.floor(random() * ceiling);
}
