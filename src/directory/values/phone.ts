import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Where a number written without `+` is taken to be from: the hub's users are Russian companies. */
export const DEFAULT_PHONE_REGION = 'RU';

/**
 * A phone number as written by a person (`8 (999) 123-45-67`, `+44 20 7946 0958`) in E.164
 * (`+79991234567`), or null when it is not a valid number. Numbers without `+` are read as Russian.
 * Validated against each country's numbering plan (libphonenumber's full metadata). Text around a
 * number and extensions (`доб. 5`) are refused rather than silently dropped: the stored value must be
 * exactly one dialable number, because CRMs such as Bitrix24 match duplicates by the stored string.
 */
export function normalisePhone(input: string): string | null {
  const written = input.trim();
  if (!/^\+?[\d\s().-]+$/.test(written)) return null;
  const parsed = parsePhoneNumberFromString(written, DEFAULT_PHONE_REGION);
  return parsed?.isValid() && !parsed.ext ? parsed.number : null;
}

export const PHONE_HINT = 'write it as +<country code><number>, e.g. +79991234567 (numbers without + are read as Russian: 8 999 123-45-67)';
