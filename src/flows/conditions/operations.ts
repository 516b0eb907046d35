import { isDeepStrictEqual } from 'node:util';

/** A compiled test of one context value. */
export type Predicate = (actual: unknown) => boolean;

interface Operation {
  /** Whether the condition must carry a `value` (and may not carry one otherwise). */
  takesValue: boolean;
  /** Returns the predicate, or a message saying what is wrong with `value`. */
  compile(value: unknown): Predicate | string;
}

export const NEGATION_PREFIX = '!|';
/** Longer patterns are refused at load: a cap on what a flow author can make the regex engine chew. */
export const MAX_REGEX_LENGTH = 500;

const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Numbers, and strings that spell a number (Bitrix24 sends ids and sums as strings). */
function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return undefined;
}

/** As PHP's empty(), which the 001 settings were written against: null, false, 0, '', '0', [] and {}. */
export function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '' || v === '0') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return typeof v === 'number' && Number.isNaN(v);
}

/** Strict equality, except that a number equals the string spelling it and a missing value equals null. */
export function looselyEqual(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'number' || typeof b === 'number') {
    const x = asNumber(a);
    const y = asNumber(b);
    return x !== undefined && y !== undefined && x === y;
  }
  return isDeepStrictEqual(a, b);
}

function compare(test: (order: number) => boolean): Operation {
  return {
    takesValue: true,
    compile(value) {
      if (typeof value !== 'number' && typeof value !== 'string') return 'value must be a number or a string';
      const wanted = value;
      const wantedNumber = asNumber(value);
      return (actual) => {
        const actualNumber = asNumber(actual);
        if (wantedNumber !== undefined && actualNumber !== undefined) return test(actualNumber - wantedNumber);
        // Two strings that are not both numbers compare as text, so ISO dates order correctly.
        if (typeof actual === 'string' && typeof wanted === 'string') return test(actual < wanted ? -1 : actual > wanted ? 1 : 0);
        return false;
      };
    },
  };
}

/** `^\d+$`, or PHP style `/^\d+$/i` with flags. */
export function compileRegex(value: unknown): RegExp | string {
  if (typeof value !== 'string' || value === '') return 'value must be a non-empty regular expression string';
  if (value.length > MAX_REGEX_LENGTH) return `the regular expression is longer than ${MAX_REGEX_LENGTH} characters`;
  const delimited = /^\/(.*)\/([a-z]*)$/s.exec(value);
  const [source, flags] = delimited ? [delimited[1], delimited[2]] : [value, ''];
  const unsupported = [...flags].filter((f) => !'imsu'.includes(f));
  if (unsupported.length > 0) return `unsupported regular expression flag(s) ${unsupported.join('')}: use i, m, s or u`;
  try {
    return new RegExp(source, flags);
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
}

export const OPERATIONS: Record<string, Operation> = {
  empty: { takesValue: false, compile: () => isEmpty },
  exists: { takesValue: false, compile: () => (actual) => actual !== undefined && actual !== null },
  equals: { takesValue: true, compile: (value) => (actual) => looselyEqual(actual, value) },
  in: {
    takesValue: true,
    compile(value) {
      if (!Array.isArray(value)) return 'value must be a list';
      const options = value;
      return (actual) => options.some((option) => looselyEqual(actual, option));
    },
  },
  gt: compare((order) => order > 0),
  gte: compare((order) => order >= 0),
  lt: compare((order) => order < 0),
  lte: compare((order) => order <= 0),
  contains: {
    takesValue: true,
    compile(value) {
      return (actual) => {
        if (typeof actual === 'string') return (typeof value === 'string' || typeof value === 'number') && actual.includes(String(value));
        if (Array.isArray(actual)) return actual.some((item) => looselyEqual(item, value));
        return false;
      };
    },
  },
  regex: {
    takesValue: true,
    compile(value) {
      const regex = compileRegex(value);
      if (typeof regex === 'string') return regex;
      return (actual) => (typeof actual === 'string' || typeof actual === 'number') && regex.test(String(actual));
    },
  },
};

export const OPERATION_NAMES = Object.keys(OPERATIONS);
