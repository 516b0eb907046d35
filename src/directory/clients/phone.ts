/**
 * A deliberately small, strict phone normaliser (no libphonenumber): it turns the ways Russian
 * numbers are usually written into E.164 and refuses anything it cannot read with confidence.
 *
 * - only digits, spaces, dashes, dots and parentheses, with an optional leading `+`;
 * - `+<digits>`: taken as international, 10–15 digits, no leading 0 (`+7` needs exactly 11);
 * - 11 digits starting with 8 or 7 (`8 (999) 123-45-67`): Russian, becomes `+7…`;
 * - 10 digits (`999 123 45 67`, `812 345 67 89`): a Russian number without the trunk prefix;
 * - anything else (e.g. a foreign number without `+`) is ambiguous and refused.
 */
export function normalisePhone(input: string): string | null {
  const s = input.trim();
  if (!/^\+?[\d\s().-]+$/.test(s)) return null;
  const digits = s.replace(/\D/g, '');
  let e164: string;
  if (s.startsWith('+')) e164 = digits;
  else if (digits.length === 11 && (digits[0] === '8' || digits[0] === '7')) e164 = `7${digits.slice(1)}`;
  else if (digits.length === 10) e164 = `7${digits}`;
  else return null;
  if (e164.length < 10 || e164.length > 15 || e164[0] === '0') return null;
  // +7 is Russia and Kazakhstan: 10 national digits, which never start with 0, 1 or 2.
  if (e164[0] === '7' && (e164.length !== 11 || /^[012]/.test(e164.slice(1)))) return null;
  return `+${e164}`;
}
