import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID-shaped run id: 10 characters of millisecond time then 16 random ones (Crockford base32), so
 * ids sort by creation time as text on both databases — `GET /runs` pages by id alone.
 */
export function newRunId(now: number): string {
  let time = '';
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (const b of bytes) random += CROCKFORD[b & 31];
  return time + random;
}

export const RUN_ID_PATTERN = '^[0-9A-HJKMNP-TV-Z]{26}$';
