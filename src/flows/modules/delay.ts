import type { LocalModule } from '../runtime/module.js';
import { defer, StepFailure } from '../runtime/local.js';

const MAX_DELAY_MS = 30 * 86_400_000;

/**
 * `delay`: waits `options.ms` durably. The step is parked in the database and its job comes back when
 * the time is up: no worker is held and a restart does not lose the wait. The output says how long it was.
 */
export const delayModule: LocalModule = {
  name: 'delay',
  run(_input, call) {
    const ms = call.options.ms;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) {
      throw new StepFailure('BAD_OPTIONS', `delay: options.ms must be an integer from 0 to ${MAX_DELAY_MS} (30 days)`);
    }
    return defer(ms, { delayedMs: ms });
  },
};
