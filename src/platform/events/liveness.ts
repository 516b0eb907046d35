/**
 * Whether a process still runs a subscriber, judged from its checkpoint row's seen_at: a running bus
 * writes it when it registers the subscriber and refreshes it at this interval (not per event).
 */
export const SEEN_REFRESH_MS = 60_000;

/** Seen within this long: in use. Several refreshes, so a slow or briefly restarting process still counts. */
export const IN_USE_WITHIN_MS = 5 * SEEN_REFRESH_MS;

export const isInUse = (seenAt: number, now: number): boolean => now - seenAt < IN_USE_WITHIN_MS;

/** "3 days", "5 hours", "12 minutes", "40 seconds": how long ago, for operators' messages. */
export function describeAge(ms: number): string {
  const units: [string, number][] = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1000]];
  for (const [unit, size] of units) {
    const n = Math.floor(ms / size);
    if (n >= 1) return `${n} ${unit}${n === 1 ? '' : 's'}`;
  }
  return 'less than a second';
}
