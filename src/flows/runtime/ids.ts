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
  if (offset + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  let random = '';
  for (let i = offset; i < offset + 16; i++) random += CROCKFORD[pool[i]! & 31];
  offset += 16;
  return time + random;
}

// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids instead of one per id (as
// crypto.randomUUID caches its entropy too).
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

export const RUN_ID_PATTERN = '^[0-9A-HJKMNP-TV-Z]{26}$';
