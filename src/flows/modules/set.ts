import type { LocalModule } from '../runtime/module.js';
import { failOnBadOptions } from '../runtime/local.js';
import { isRecord, render } from './template.js';

/**
 * `set`: the output is `options.values` with `{{ path }}` placeholders filled from the step input.
 * `merge: true` starts from the input (an object) and lays the values over it.
 */
export const setModule: LocalModule = {
  name: 'set',
  safe: true,
  optionProblems(options) {
    const { values = {}, merge = false, ...unknown } = options;
    const problems = Object.keys(unknown).map((k) => `unknown option "${k}" (allowed: values, merge)`);
    if (!isRecord(values)) problems.push('options.values must be a mapping of field → value');
    if (typeof merge !== 'boolean') problems.push('options.merge must be true or false');
    return problems;
  },
  run(input, call) {
    failOnBadOptions('set', setModule.optionProblems!(call.options));
    const { values = {}, merge = false } = call.options as { values?: Record<string, unknown>; merge?: boolean };
    const rendered = render(values, input) as Record<string, unknown>;
    return merge && isRecord(input) ? { ...input, ...rendered } : rendered;
  },
};
