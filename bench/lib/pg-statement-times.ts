import pg from 'pg';

// Counts and times every node-postgres query of the process it is imported into and prints the costliest
// at exit: how many round trips a workload makes, and on what. The PostgreSQL twin of
// sqlite-statement-times.ts; wall time from sending a query to its answer (round trip included).

interface Tally {
  calls: number;
  ms: number;
}

const tallies = new Map<string, Tally>();
const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const original = proto.query;
proto.query = function timed(this: unknown, ...args: unknown[]) {
  const first = args[0] as string | { text?: string };
  const text = typeof first === 'string' ? first : (first?.text ?? '?');
  const key = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  const started = performance.now();
  const tally = () => {
    const t = tallies.get(key) ?? { calls: 0, ms: 0 };
    t.calls += 1;
    t.ms += performance.now() - started;
    tallies.set(key, t);
  };
  const result = original.apply(this, args);
  if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(tally, tally);
  else tally();
  return result;
};

function report(): void {
  const all = [...tallies.values()];
  const calls = all.reduce((sum, t) => sum + t.calls, 0);
  console.error(`postgres statements: ${calls} round trips, ${all.reduce((sum, t) => sum + t.ms, 0).toFixed(0)} ms waited in all; the costliest:`);
  for (const [sql, t] of [...tallies.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) {
    console.error(`${t.ms.toFixed(0).padStart(7)} ms ${String(t.calls).padStart(8)} calls ${((1000 * t.ms) / t.calls).toFixed(0).padStart(6)} µs  ${sql}`);
  }
}
process.once('exit', report);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
