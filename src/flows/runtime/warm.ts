import type * as store from './store.js';
import type { RunContext, Tried } from './step-try.js';

/**
 * What this process knows of a step it handed on to itself (or of a run it just accepted): the run row
 * as the hand-over left it, the context, and at the end of a stretch the step's answer. Used once.
 */
export interface Warm {
  run?: store.RunRow;
  context: RunContext;
  tried?: Tried;
}

const MAX_WARM = 10_000;

/** Entries keyed by run and seq; bounded (an entry whose job runs elsewhere is never taken). */
export function createWarmStore() {
  const warm = new Map<string, Warm>();
  return {
    put(runId: string, seq: number, entry: Warm): void {
      if (warm.size >= MAX_WARM) warm.delete(warm.keys().next().value!);
      warm.set(`${runId}:${seq}`, entry);
    },
    take(runId: string, seq: number): Warm | undefined {
      const key = `${runId}:${seq}`;
      const entry = warm.get(key);
      if (entry) warm.delete(key);
      return entry;
    },
  };
}
