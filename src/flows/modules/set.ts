import type { LocalModule } from '../runtime/module.js';
import { StepFailure } from '../runtime/local.js';
import { isRecord, render } from './template.js';

/**
 * `set`: the output is `options.values` with `{{ path }}` placeholders filled from the step input.
 * `merge: true` starts from the input (an object) and lays the values over it.
 */
export const setModule: LocalModule = {
  name: 'set',
  safe: true,
  run(input, call) {
    const { values = {}, merge = false, ...unknown } = call.options as { values?: unknown; merge?: unknown };
    const extra = Object.keys(unknown);
    if (extra.length > 0) throw new StepFailure('BAD_OPTIONS', `set: unknown option(s) ${extra.join(', ')}; allowed: values, merge`);
    if (!isRecord(values)) throw new StepFailure('BAD_OPTIONS', 'set: options.values must be a mapping of field → value');
    const rendered = render(values, input) as Record<string, unknown>;
    return merge === true && isRecord(input) ? { ...input, ...rendered } : rendered;
  },
};
