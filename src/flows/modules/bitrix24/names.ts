import { isRecord } from '../template.js';

/** The Bitrix24 module names, apart from their code: flow validation needs them without the connector. */
export const BITRIX24_MODULE_NAMES = ['bitrix24.find-contact', 'bitrix24.find-deal', 'bitrix24.get-deal', 'bitrix24.add-lead', 'bitrix24.add-deal', 'bitrix24.update-deal'] as const;
export type Bitrix24ModuleName = (typeof BITRIX24_MODULE_NAMES)[number];

const SORT = new Set(['ASC', 'DESC']);

function unknownOptions(options: Readonly<Record<string, unknown>>, allowed: string[]): string[] {
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return [];
  return [`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: ${allowed.join(', ') || 'none'})`];
}

function recordFields(entity: string) {
  return (options: Readonly<Record<string, unknown>>): string[] => {
    const problems = unknownOptions(options, ['fields']);
    if (options.fields !== undefined && !isRecord(options.fields)) problems.push(`options.fields must be a mapping of ${entity} fields`);
    return problems;
  };
}

/** Each module's checks of a step's options (LocalModule.optionProblems), also without the connector. */
export const BITRIX24_OPTION_PROBLEMS: Record<Bitrix24ModuleName, (options: Readonly<Record<string, unknown>>) => string[]> = {
  'bitrix24.find-contact': (options) => unknownOptions(options, []),
  'bitrix24.find-deal': (options) => {
    const { filter = {}, order = { ID: 'DESC' }, select } = options;
    const problems = unknownOptions(options, ['filter', 'order', 'select']);
    if (!isRecord(filter)) problems.push('options.filter must be a mapping');
    if (!isRecord(order) || !Object.values(order).every((v) => SORT.has(String(v)))) problems.push('options.order must map fields to ASC or DESC');
    if (select !== undefined && !(Array.isArray(select) && select.every((s) => typeof s === 'string'))) problems.push('options.select must be a list of field names');
    return problems;
  },
  'bitrix24.get-deal': (options) => unknownOptions(options, []),
  'bitrix24.add-lead': recordFields('lead'),
  'bitrix24.add-deal': recordFields('deal'),
  'bitrix24.update-deal': recordFields('deal'),
};
