// Unicode letters in the domain so that Cyrillic domains (пример.рф) pass.
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([\p{L}\p{N}]([\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}$/u;

/**
 * An email address with its domain in lower case (the local part is left as written: it may be
 * case-sensitive), or null when it is not one. Deliberately the practical subset of RFC 5322 that
 * mail systems accept: no quoted local parts, no IP-literal domains, at most 254 characters.
 */
export function normaliseEmail(input: string): string | null {
  const email = input.trim();
  if (email.length > 254 || !EMAIL.test(email)) return null;
  const at = email.lastIndexOf('@');
  return `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`;
}
