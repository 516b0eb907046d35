import type { CompiledCondition } from './compile.js';
import { getPath } from './path.js';

/** What the router needs of a step. */
export interface RoutableStep {
  readonly next: readonly string[];
  readonly route: readonly CompiledCondition[];
}

/**
 * The step(s) to run after `step`, given the run context (each step's output under its id).
 * Conditions are checked in order and the first that gives a route wins; a condition that holds
 * first tries its `success` list, then its own `result`. When no condition gives a route, `next`
 * applies. Several ids mean parallel branches; an empty list ends this branch.
 */
export function evaluateRoute(step: RoutableStep, context: unknown): string[] {
  return [...(firstRoute(step.route, context) ?? step.next)];
}

function firstRoute(conditions: readonly CompiledCondition[], context: unknown): readonly string[] | undefined {
  for (const condition of conditions) {
    if (condition.test(getPath(context, condition.path)) === condition.negate) continue;
    const nested = condition.success.length > 0 ? firstRoute(condition.success, context) : undefined;
    if (nested) return nested;
    if (condition.result) return condition.result;
  }
  return undefined;
}
