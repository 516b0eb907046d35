import type { CompiledCondition } from '../conditions/compile.js';
import type { Problem } from './problems.js';

export interface GraphStep {
  next: readonly string[];
  route: readonly CompiledCondition[];
  onError?: string;
}

/** Every route a step can take: each condition result (nested too) and `next`, the fallback. */
function outcomes(step: GraphStep): (readonly string[])[] {
  const out: (readonly string[])[] = [step.next];
  const walk = (conditions: readonly CompiledCondition[]) => {
    for (const c of conditions) {
      walk(c.success);
      if (c.result) out.push(c.result);
    }
  };
  walk(step.route);
  return out;
}

/**
 * Unreachable steps and loops no route can leave. An error route is an edge (its target is reachable)
 * but not a way out of a loop: a loop that ends only when something fails is still endless.
 */
export function checkGraph(steps: ReadonlyMap<string, GraphStep>, start: readonly string[], flowOnError: string | undefined): Problem[] {
  const problems: Problem[] = [];
  const edges = new Map<string, string[]>();
  for (const [id, step] of steps) {
    const targets = new Set(outcomes(step).flat());
    const onError = step.onError ?? flowOnError;
    if (onError) targets.add(onError);
    edges.set(id, [...targets].filter((t) => steps.has(t)));
  }

  const reached = new Set<string>();
  const queue = start.filter((id) => steps.has(id));
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    if (reached.has(id)) continue;
    reached.add(id);
    queue.push(...(edges.get(id) ?? []));
  }
  for (const id of steps.keys()) {
    if (!reached.has(id)) problems.push({ path: `steps.${id}`, message: 'unreachable: no route from the start step(s) leads here' });
  }

  for (const component of stronglyConnected([...steps.keys()], edges)) {
    const members = new Set(component);
    const isLoop = component.length > 1 || (edges.get(component[0]) ?? []).includes(component[0]);
    if (!isLoop) continue;
    const canLeave = component.some((id) => outcomes(steps.get(id)!).some((route) => route.every((target) => !members.has(target))));
    if (!canLeave) {
      const ordered = [...steps.keys()].filter((id) => members.has(id));
      problems.push({
        path: `steps.${ordered[0]}`,
        message: `${ordered.length === 1 ? 'step' : 'steps'} ${ordered.join(', ')} form a loop that no route leaves: give one of them a condition whose result leads out of the loop or ends the branch`,
      });
    }
  }
  return problems;
}

/** Tarjan's algorithm; flows are small, so recursion depth is no concern. */
function stronglyConnected(nodes: string[], edges: ReadonlyMap<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return components;
}
