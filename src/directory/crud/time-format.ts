import { AppError } from '../../platform/errors/index.js';

const DAY_MS = 86_400_000;
/** Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar. */
const EPOCH_SHIFT = 719_468;
/** 0000-01-01 and 10000-01-01: outside, ISO-8601 needs the expanded ±YYYYYY form that Date writes. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_800_000;

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
const pad4 = (n: number) => (n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`);

/**
 * The 003 prototype's timestamp style: `2023-04-12T23:13:48.363+00:00` (UTC, milliseconds).
 * Computed by hand because every client served shows three of these, and Date#toISOString goes
 * through a printf in V8 that cost more than the row's SQLite read. Same output as
 * `new Date(ms).toISOString().replace('Z', '+00:00')` (tested against it).
 */
export function formatTimestamp(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  if (!(ms >= MIN_MS && ms < MAX_MS)) return new Date(ms).toISOString().replace('Z', '+00:00'); // throws for NaN, as before
  const whole = Math.trunc(ms); // as Date does: toward zero
  const days = Math.floor(whole / DAY_MS);
  let rest = whole - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${civilDate(days)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}+00:00`;
}

/** YYYY-MM-DD of a day count since 1970-01-01 (Howard Hinnant's days_from_civil, inverted). */
function civilDate(days: number): string {
  const z = days + EPOCH_SHIFT;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${pad4(year)}-${pad2(month)}-${pad2(day)}`;
}

/** Accepts ISO-8601 date-times (any offset) and plain dates (`1995-06-02`, taken as UTC midnight). */
export function parseTimestamp(value: string, field: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim());
  const ms = iso ? Date.parse(/T/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value.trim()) ? `${value.trim()}Z` : value.trim()) : NaN;
  if (Number.isNaN(ms)) {
    throw new AppError('VALIDATION_FAILED', `${field} must be an ISO-8601 date or date-time such as 1995-06-02T00:00:00Z (got "${value}")`, [
      { field, message: 'is not an ISO-8601 date-time' },
    ]);
  }
  return ms;
}
