// Russian company identifiers, checked as the Federal Tax Service defines them (order ММВ-7-6/435@):
// check digits for INN and OGRN/OGRNIP, the format for KPP (which has no check digit).
// Each check returns what is wrong, in words a person can act on, or null when the value is valid.

const weighted = (digits: string, weights: readonly number[]) => (weights.reduce((sum, w, i) => sum + w * Number(digits[i]), 0) % 11) % 10;

const INN10 = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

/** INN: 10 digits for an organisation, 12 for an entrepreneur or a person, with check digits. */
export function innProblem(inn: string): string | null {
  if (!/^(\d{10}|\d{12})$/.test(inn)) return 'must be 10 digits (an organisation) or 12 digits (an entrepreneur or a person)';
  if (/^0+$/.test(inn)) return 'cannot be all zeros';
  const ok =
    inn.length === 10
      ? weighted(inn, INN10) === Number(inn[9])
      : weighted(inn, INN12_11) === Number(inn[10]) && weighted(inn, INN12_12) === Number(inn[11]);
  return ok ? null : 'has a wrong check digit (a typo?)';
}

/** OGRN (13 digits, an organisation) or OGRNIP (15 digits, an entrepreneur), with its check digit. */
export function ogrnProblem(ogrn: string): string | null {
  if (!/^(\d{13}|\d{15})$/.test(ogrn)) return 'must be 13 digits (OGRN of an organisation) or 15 digits (OGRNIP of an entrepreneur)';
  // The prefixes stay below 2^53, so plain numbers are exact.
  const body = Number(ogrn.slice(0, -1));
  const check = ogrn.length === 13 ? (body % 11) % 10 : (body % 13) % 10;
  return check === Number(ogrn.at(-1)) ? null : 'has a wrong check digit (a typo?)';
}

/** KPP: 9 characters, tax office (4 digits), reason (2 digits or capital Latin letters), number (3 digits). */
export function kppProblem(kpp: string): string | null {
  return /^\d{4}[\dA-Z]{2}\d{3}$/.test(kpp) ? null : 'must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits (e.g. 773601001)';
}
