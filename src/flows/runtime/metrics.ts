import { Gauge, type Metric, type Registry } from 'prom-client';
import type { Db } from '../../platform/db/index.js';
import { unfinishedRunCounts, type RunState } from './store.js';

/**
 * Prometheus metrics of the flows (on /metrics with the hub's others):
 *  - conveyor_flow_runs_ended_total{flow,state}: runs this process ended (succeeded, failed, cancelled, dead);
 *  - conveyor_flow_step_duration_seconds{module,outcome}: each module call this process made, `outcome`
 *    ok or error (the module's answer, before retries and error routes decide what it means for the run);
 *  - conveyor_flow_runs{flow,state}: queued, running and dead runs in the database, counted at each
 *    scrape (every process reports the same numbers: take max, not sum, across processes).
 */
export interface FlowMetrics {
  runEnded(flowId: string, state: RunState): void;
  stepTried(module: string, ok: boolean, ms: number): void;
}

export const NO_FLOW_METRICS: FlowMetrics = { runEnded: () => undefined, stepTried: () => undefined };

const STEP_BUCKETS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

export function createFlowMetrics(registry: Registry | undefined, db: Db): FlowMetrics {
  if (!registry) return NO_FLOW_METRICS;
  const ended = new Series(registry, 'conveyor_flow_runs_ended_total', 'Flow runs ended by this process, by flow and final state', ['flow', 'state']);
  const steps = new Series(registry, 'conveyor_flow_step_duration_seconds', "Module calls of flow steps made by this process, by module and the module's answer (ok or error)", ['module', 'outcome'], STEP_BUCKETS_S);
  new Gauge({
    name: 'conveyor_flow_runs',
    help: 'Queued, running and dead flow runs in the database, by flow (the same in every process)',
    labelNames: ['flow', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await unfinishedRunCounts(db)) this.set({ flow: c.flowId, state: c.state }, c.runs);
    },
  });
  return {
    runEnded: (flowId, state) => ended.add(flowId, state, 1),
    stepTried: (module, ok, ms) => steps.add(module, ok ? 'ok' : 'error', ms / 1000),
  };
}

/** Most label pairs one series keeps: flows and modules are few; past it, values are dropped, not grown. */
const MOST_PAIRS = 1000;

interface Totals {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Observations up to each bucket's bound (not cumulative). */
  buckets: number[];
}

/**
 * A counter (no buckets) or histogram over two labels, read by the registry at each scrape. Why not
 * prom-client's own: its labelled observe validates and hashes the labels on every call (a few µs per
 * flow step on the hot path); here a call is one map lookup and a few additions.
 */
class Series {
  private readonly totals = new Map<string, Totals>();
  readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly [string, string],
    private readonly bounds?: readonly number[],
  ) {
    this.type = bounds ? 'histogram' : 'counter';
    registry.registerMetric(this as unknown as Metric);
  }

  add(a: string, b: string, value: number): void {
    const key = `${a}\0${b}`;
    let t = this.totals.get(key);
    if (t === undefined) {
      if (this.totals.size >= MOST_PAIRS) return;
      t = { labels: { [this.labelNames[0]]: a, [this.labelNames[1]]: b }, count: 0, sum: 0, buckets: this.bounds ? this.bounds.map(() => 0) : [] };
      this.totals.set(key, t);
    }
    t.count += 1;
    t.sum += value;
    if (this.bounds) {
      const i = this.bounds.findIndex((bound) => value <= bound);
      if (i >= 0) t.buckets[i]! += 1;
    }
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName?: string }[] = [];
    for (const t of this.totals.values()) {
      if (!this.bounds) {
        values.push({ labels: t.labels, value: t.sum });
        continue;
      }
      let below = 0;
      this.bounds.forEach((bound, i) => values.push({ metricName: `${this.name}_bucket`, labels: { ...t.labels, le: bound }, value: (below += t.buckets[i]!) }));
      values.push({ metricName: `${this.name}_bucket`, labels: { ...t.labels, le: '+Inf' }, value: t.count });
      values.push({ metricName: `${this.name}_sum`, labels: t.labels, value: t.sum });
      values.push({ metricName: `${this.name}_count`, labels: t.labels, value: t.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.totals.clear();
  }
}
