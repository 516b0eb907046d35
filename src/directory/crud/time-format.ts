import { AppError } from '../../platform/errors/index.js';

/** The 003 prototype's timestamp style: `2023-04-12T23:13:48.363+00:00` (UTC, milliseconds). */
export function formatTimestamp(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(ms).toISOString().replace('Z', '+00:00');
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
