// Child process that runs autocannon, so the load generator has its own event loop (and core)
// instead of sharing one with the server it measures. Protocol: one LoadSpec in, one reply out.
import { readFileSync } from 'node:fs';
import autocannon, { type Options, type Result } from 'autocannon';
import type { LoadReply, LoadSpec } from './load.js';

process.on('disconnect', () => process.exit(0)); // the bench died: do not linger

process.once('message', (spec: LoadSpec) => {
  run(spec).then(
    (reply) => process.send!(reply, () => process.exit(0)),
    (err: Error) => process.send!({ ok: false, error: err.stack ?? err.message } satisfies LoadReply, () => process.exit(1)),
  );
});

/**
 * Deals the request set out to the connections, each its own slice. autocannon encodes every
 * request of `requests` once per connection when it starts — inside the measured time — so handing
 * all of them to every connection would cost connections × set size encodings (seconds for 20 ×
 * 4096); slices cost about one encoding per request, and the connections still cover the whole set.
 */
function perConnection(spec: LoadSpec): Pick<Options, 'requests' | 'setupClient'> {
  const slices = Array.from({ length: spec.connections }, (_, i) => spec.requests.filter((_, j) => j % spec.connections === i));
  if (slices.some((slice) => slice.length === 0)) return { requests: spec.requests };
  let next = 0;
  return { requests: slices[0].slice(0, 1), setupClient: (client) => client.setRequests(slices[next++ % slices.length]) };
}

async function run(spec: LoadSpec): Promise<LoadReply> {
  const base = () => ({ url: spec.url, connections: spec.connections, pipelining: spec.pipelining, timeout: 10, ...perConnection(spec) });
  let warmup: Result | undefined;
  if (spec.warmupS) warmup = await autocannon({ ...base(), duration: spec.warmupS });
  const cpuBefore = processCpuMs(spec.serverPid);
  const started = microseconds();
  const result = await autocannon({ ...base(), duration: spec.durationS });
  const finished = microseconds();
  const cpuAfter = processCpuMs(spec.serverPid);
  const cpuMs = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  return {
    ok: true,
    result: {
      rps: { mean: result.requests.mean, stddev: result.requests.stddev, min: result.requests.min, max: result.requests.max },
      latencyMs: { mean: result.latency.mean, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      total: result.requests.total,
      durationS: result.duration,
      non2xx: result.non2xx + (warmup?.non2xx ?? 0),
      errors: result.errors + (warmup?.errors ?? 0),
      timeouts: result.timeouts + (warmup?.timeouts ?? 0),
      windowUs: [started, finished],
      serverCpuUsPerRequest: cpuMs === undefined || result.requests.total === 0 ? undefined : Math.round((1000 * cpuMs) / result.requests.total),
      statusCodes: statusCounts([warmup, result]),
    },
  };
}

function statusCounts(results: (Result | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) {
    for (const [code, { count }] of Object.entries(result?.statusCodeStats ?? {})) counts[code] = (counts[code] ?? 0) + Number(count);
  }
  return counts;
}

/** The monotonic clock V8's CPU profiles use, so a profile can be cut to the measured window. */
function microseconds(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every mainstream Linux

/** User + system CPU time of a process (all its threads) from /proc; undefined elsewhere. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of stat.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
