import { checkEmail, checkPhone, type CheckedValue } from '../values/index.js';

/** What the value rules need to know about a parameter (a row of `parameters`). */
export interface ParameterInfo {
  id: number;
  type: string;
  entityType: string;
  options: string[] | null;
}

export type Checked = { ok: true; stored: string } | { ok: false; message: string };

export const MAX_TEXT = 10_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

const bad = (message: string): Checked => ({ ok: false, message });
const asChecked = (c: CheckedValue): Checked => ('stored' in c ? { ok: true, stored: c.stored } : bad(c.problem));

/**
 * Checks one value against its parameter's type and returns the text to store: phones in E.164,
 * emails with a lower-case domain, dates as YYYY-MM-DD (the calendar date as written), numbers in
 * JavaScript's shortest form, list values exactly as one of the options.
 */
export function checkParameterValue(parameter: ParameterInfo, value: unknown): Checked {
  if (parameter.type === 'number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && NUMBER.test(value.trim()) ? Number(value.trim()) : NaN;
    return Number.isFinite(n) ? { ok: true, stored: String(n) } : bad('must be a finite number');
  }
  if (typeof value !== 'string') return bad(`must be a string (a ${parameter.type} value), or null to remove it`);
  if (value.trim() === '') return bad('is empty; send null to remove the value');
  switch (parameter.type) {
    case 'phone':
      return asChecked(checkPhone(value));
    case 'email':
      return asChecked(checkEmail(value));
    case 'text':
      return value.length <= MAX_TEXT ? { ok: true, stored: value } : bad(`is longer than ${MAX_TEXT} characters`);
    case 'date': {
      const m = DATE.exec(value.trim());
      if (!m) return bad(`"${value}" is not an ISO-8601 date such as 1995-06-02`);
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const date = new Date(Date.UTC(y, mo - 1, d));
      if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return bad(`"${value}" is not a calendar date`);
      return { ok: true, stored: `${m[1]}-${m[2]}-${m[3]}` };
    }
    case 'list': {
      const options = parameter.options ?? [];
      return options.includes(value) ? { ok: true, stored: value } : bad(`"${value}" is not one of the options: ${options.join(', ')}`);
    }
    default:
      return bad(`parameter type "${parameter.type}" is not supported`);
  }
}

/** Stored text → API value: numbers as numbers, everything else as the stored string. */
export function readParameterValue(type: string, stored: string): string | number {
  return type === 'number' ? Number(stored) : stored;
}
