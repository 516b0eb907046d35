import { normaliseEmail } from './email.js';
import { normalisePhone, PHONE_HINT } from './phone.js';

/** A value as it is stored, or what is wrong with it in words a person can act on. */
export type CheckedValue = { stored: string } | { problem: string };

export function checkPhone(value: string): CheckedValue {
  const phone = normalisePhone(value);
  return phone ? { stored: phone } : { problem: `"${value}" is not a phone number; ${PHONE_HINT}` };
}

export function checkEmail(value: string): CheckedValue {
  const email = normaliseEmail(value);
  return email ? { stored: email } : { problem: `"${value}" is not an email address` };
}
