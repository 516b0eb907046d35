import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalisePhone } from '../../src/directory/values/index.js';
import { checkParameterValue, type ParameterInfo } from '../../src/directory/clients/parameter-values.js';

// Pure rules (no storage): the HTTP behaviour is covered on both databases in parameters-values.

const param = (type: string, options: string[] | null = null): ParameterInfo => ({ id: 1, type, entityType: 'client', options });
const stored = (type: string, value: unknown, options: string[] | null = null) => {
  const r = checkParameterValue(param(type, options), value);
  return r.ok ? r.stored : `ERROR: ${r.message}`;
};

describe('phone normaliser', () => {
  it('turns the usual Russian ways of writing a number into E.164', () => {
    for (const written of ['+7 999 123-45-67', '8 (999) 123-45-67', '89991234567', '79991234567', '999 123 45 67', '9991234567', ' +7(999)1234567 ']) {
      assert.equal(normalisePhone(written), '+79991234567', written);
    }
    assert.equal(normalisePhone('8 812 345-67-89'), '+78123456789', 'a St Petersburg landline');
    assert.equal(normalisePhone('812 345 67 89'), '+78123456789', '10 digits are a Russian number without the trunk 8');
  });

  it('keeps international numbers written with +', () => {
    assert.equal(normalisePhone('+44 20 7946 0958'), '+442079460958');
    assert.equal(normalisePhone('+380 50 123 4567'), '+380501234567');
    assert.equal(normalisePhone('+1 (212) 555-0100'), '+12125550100');
  });

  it('refuses what it cannot read with confidence', () => {
    for (const bad of [
      '',
      'call me',
      '+7 999 123-45-67 ext. 5',
      '+7 999 123 45 6', // +7 needs 10 national digits
      '+7 199 123 45 67', // no Russian/Kazakh number starts with 1
      '+0 123 456 7890',
      '+12345678', // too short
      '+1234567890123456', // longer than E.164 allows
      '380501234567', // foreign without +: ambiguous
      '12345',
      '9-99',
      '+7-999-123-45-67+',
    ]) {
      assert.equal(normalisePhone(bad), null, bad);
    }
  });
});

describe('parameter value rules', () => {
  it('phone values are stored in E.164', () => {
    assert.equal(stored('phone', '8 (999) 123-45-67'), '+79991234567');
    assert.match(stored('phone', '123'), /^ERROR: "123" is not a phone number/);
    assert.match(stored('phone', 79991234567), /^ERROR: must be a string/);
  });

  it('emails: a reasonable shape, the domain in lower case, Cyrillic domains allowed', () => {
    assert.equal(stored('email', ' Ivan.Petrov+news@Example.RU '), 'Ivan.Petrov+news@example.ru');
    assert.equal(stored('email', 'info@пример.рф'), 'info@пример.рф');
    for (const bad of ['ivan', 'ivan@', '@example.ru', 'ivan@example', 'iv an@example.ru', 'ivan@@example.ru', 'a..b@example.ru', `${'a'.repeat(250)}@example.ru`]) {
      assert.match(stored('email', bad), /^ERROR: /, bad);
    }
  });

  it('text up to 10,000 characters, kept as written', () => {
    assert.equal(stored('text', '  ООО «Ромашка»  '), '  ООО «Ромашка»  ');
    assert.equal(stored('text', 'я'.repeat(10_000)).length, 10_000);
    assert.equal(stored('text', 'я'.repeat(10_001)), 'ERROR: is longer than 10000 characters');
    assert.equal(stored('text', '   '), 'ERROR: is empty; send null to remove the value');
  });

  it('dates: ISO dates and date-times become the calendar date as written', () => {
    assert.equal(stored('date', '1995-06-02'), '1995-06-02');
    assert.equal(stored('date', '1995-06-02T00:00:00Z'), '1995-06-02');
    assert.equal(stored('date', '1995-06-02T23:30:00+03:00'), '1995-06-02');
    assert.equal(stored('date', '2024-02-29'), '2024-02-29');
    for (const bad of ['2023-02-29', '1995-13-01', '02.06.1995', '1995-6-2', 'yesterday']) assert.match(stored('date', bad), /^ERROR: /, bad);
  });

  it('numbers: finite numbers or numeric strings', () => {
    assert.equal(stored('number', 12.5), '12.5');
    assert.equal(stored('number', '-3'), '-3');
    assert.equal(stored('number', '1e3'), '1000');
    for (const bad of ['abc', '', '1,5', 'Infinity', true, {}]) assert.equal(stored('number', bad), 'ERROR: must be a finite number', String(bad));
  });

  it('lists: exactly one of the options', () => {
    assert.equal(stored('list', 'Опт', ['Розница', 'Опт']), 'Опт');
    assert.equal(stored('list', 'опт', ['Розница', 'Опт']), 'ERROR: "опт" is not one of the options: Розница, Опт');
  });
});
