import type { LocalModule } from '../runtime/module.js';
import { defer, failOnBadOptions } from '../runtime/local.js';

const MAX_DELAY_MS = 30 * 86_400_000;

/**
 * `delay`: waits `options.ms` durably. The step is parked in the database and its job comes back when
 * the time is up: no worker is held and a restart does not lose the wait. The output says how long it was.
 */
export const delayModule: LocalModule = {
  name: 'delay',
  optionProblems(options) {
    const { ms, ...unknown } = options;
    const problems = Object.keys(unknown).map((k) => `unknown option "${k}" (allowed: ms)`);
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) problems.push(`options.ms must be an integer from 0 to ${MAX_DELAY_MS} (30 days)`);
    return problems;
  },
  run(_input, call) {
    failOnBadOptions('delay', delayModule.optionProblems!(call.options));
    const ms = call.options.ms as number;
    return defer(ms, { delayedMs: ms });
  },
};
