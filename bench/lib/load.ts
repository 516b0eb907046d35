import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Request } from 'autocannon';
import { onCleanup } from './lifecycle.js';

export interface LoadSpec {
  /** Origin of the server, e.g. http://127.0.0.1:8181 */
  url: string;
  connections: number;
  pipelining: number;
  /** The server's process id: its CPU time during the measured run is reported per request. */
  serverPid?: number;
  /** Measured run length. */
  durationS: number;
  /** Unmeasured run first, so JIT, caches and connection pools are warm. */
  warmupS?: number;
  /** Pre-built requests, cycled in order. Static on purpose: autocannon encodes each once, so the
   *  generator's own cost is the same small constant for every case (no per-request setupRequest). */
  requests: Request[];
}

export interface LoadResult {
  rps: { mean: number; stddev: number; min: number; max: number };
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  total: number;
  durationS: number;
  /** Counted over warm-up and measured run together: any of them means the case is broken. */
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Start and end of the measured run on the monotonic clock, in µs (to cut CPU profiles). */
  windowUs: [number, number];
  /** CPU time (user + system, all threads) the server process spent per request in the measured
   *  run: unlike req/s it hardly depends on what else the machine is doing. Linux only. */
  serverCpuUsPerRequest?: number;
}

export type LoadReply = { ok: true; result: LoadResult } | { ok: false; error: string };

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

/** Runs autocannon in a child process and returns its summary. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = fork(WORKER, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  try {
    const reply = await new Promise<LoadReply>((resolve, reject) => {
      child.once('message', (m) => resolve(m as LoadReply));
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`load generator exited (${code ?? signal}) without a result`)));
      child.send(spec);
    });
    if (!reply.ok) throw new Error(`load generator failed: ${reply.error}`);
    return reply.result;
  } finally {
    await stop();
  }
}
