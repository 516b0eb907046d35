import { Cron } from 'croner';
import type { Problem } from './problems.js';

/** Which intake keys belong to which mode; a key of another mode is a mistake, not a no-op. */
const KEYS_OF_MODE: Record<string, string[]> = {
  immediate: [],
  rate: ['limit', 'perMs'],
  batch: ['size', 'everyMs'],
  cron: ['cron', 'timezone'],
};

/** Checks what the schema cannot: the keys each mode needs, and the cron pattern itself. */
export function checkIntake(intake: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const mode = intake.mode;
  if (typeof mode !== 'string' || !Object.hasOwn(KEYS_OF_MODE, mode)) return problems; // the schema says so
  const owner = (key: string) => Object.keys(KEYS_OF_MODE).find((m) => KEYS_OF_MODE[m].includes(key));
  for (const key of Object.keys(intake)) {
    const belongsTo = owner(key);
    if (belongsTo && belongsTo !== mode) problems.push({ path: `intake.${key}`, message: `applies to mode ${belongsTo} only, not ${mode}` });
  }
  const missing = (key: string, why: string) => intake[key] === undefined && problems.push({ path: `intake.${key}`, message: why });
  if (mode === 'rate') {
    missing('limit', 'mode rate needs limit: how many requests start per perMs (e.g. 10)');
    missing('perMs', 'mode rate needs perMs: the period of the limit in milliseconds (e.g. 60000)');
  }
  if (mode === 'batch' && intake.size === undefined && intake.everyMs === undefined) {
    problems.push({ path: 'intake', message: 'mode batch needs size (requests per batch), everyMs (a batch every so often), or both' });
  }
  if (mode === 'cron') {
    missing('cron', 'mode cron needs cron: a schedule such as "*/5 * * * *"');
    if (typeof intake.cron === 'string' && intake.cron !== '') {
      try {
        // nextRun() also checks the time zone, which the constructor alone lets through.
        const cron = new Cron(intake.cron, { paused: true, timezone: typeof intake.timezone === 'string' ? intake.timezone : 'UTC' });
        cron.nextRun();
        cron.stop();
      } catch (err) {
        problems.push({ path: typeof intake.timezone === 'string' && /time ?zone/i.test(String((err as Error).message)) ? 'intake.timezone' : 'intake.cron', message: `invalid schedule: ${(err as Error).message}` });
      }
    }
  }
  return problems;
}
