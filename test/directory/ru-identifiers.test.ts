import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { innProblem, kppProblem, normaliseEmail, ogrnProblem } from '../../src/directory/values/index.js';

// Known identifiers of real companies and the Federal Tax Service's check-digit rules (see
// shared/reference/dadata-and-identifiers.md); each invalid one differs from a valid one by a digit.

describe('Russian company identifiers', () => {
  it('accepts INNs with right check digits and says what is wrong with the others', () => {
    for (const inn of ['7707083893', '7736207543', '7736050003', '7728168971', '5001007329', '771234567859', '500100732259']) assert.equal(innProblem(inn), null, inn);
    for (const inn of ['7707083894', '1717586110', '771234567858', '500100732250']) assert.match(innProblem(inn)!, /check digit/, inn);
    assert.match(innProblem('0000000000')!, /all zeros/);
    for (const inn of ['770708389', '77070838931', 'abcdefghij', '7707 083893', '']) assert.match(innProblem(inn)!, /10 digits .* or 12 digits/, inn);
  });

  it('accepts OGRN and OGRNIP with right check digits', () => {
    for (const ogrn of ['1027700132195', '1027700229193', '1157746000004', '316774600000010', '304500116000157']) assert.equal(ogrnProblem(ogrn), null, ogrn);
    for (const ogrn of ['1027700132194', '1157746000005', '316774600000011', '304500116000158']) assert.match(ogrnProblem(ogrn)!, /check digit/, ogrn);
    for (const ogrn of ['102770013219', '10277001321950', 'x027700132195']) assert.match(ogrnProblem(ogrn)!, /13 digits/, ogrn);
  });

  it('checks the KPP format (it has no check digit)', () => {
    for (const kpp of ['773601001', '540602001', '7736AB001']) assert.equal(kppProblem(kpp), null, kpp);
    for (const kpp of ['77360100', '7736ab001', '7736010011', 'A73601001']) assert.match(kppProblem(kpp)!, /9 characters/, kpp);
  });
});

describe('email normaliser', () => {
  it('lower-cases the domain only and refuses what is not an address', () => {
    assert.equal(normaliseEmail(' Ivan.Petrov@Example.RU '), 'Ivan.Petrov@example.ru');
    assert.equal(normaliseEmail('info@ПРИМЕР.РФ'), 'info@пример.рф');
    for (const bad of ['ivan', 'ivan@', '@example.ru', 'ivan@example', 'iv an@example.ru', 'ivan@@example.ru', `${'a'.repeat(250)}@example.ru`]) {
      assert.equal(normaliseEmail(bad), null, bad);
    }
  });
});
