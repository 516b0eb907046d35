import Database from 'better-sqlite3';

// Times every better-sqlite3 statement of the process it is imported into and prints the costliest at
// exit: which SQL a workload spends its database time on. Load it before the hub, e.g.
//   node --import tsx --import ./bench/lib/sqlite-statement-times.ts bin/conveyor.js start   (from the repo root)
// (then stop the hub with Ctrl-C). Wall time per call, measured around the synchronous driver call.

interface Tally {
  calls: number;
  ms: number;
}

const proto = Object.getPrototypeOf(new Database(':memory:').prepare('select 1')) as Record<string, (...args: unknown[]) => unknown>;
const tallies = new Map<string, Tally>();
for (const method of ['all', 'run', 'get', 'iterate']) {
  const original = proto[method]!;
  proto[method] = function timed(this: { source: string }, ...args: unknown[]) {
    const started = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      const key = `${method}: ${this.source.replace(/\s+/g, ' ').slice(0, 200)}`;
      const tally = tallies.get(key) ?? { calls: 0, ms: 0 };
      tally.calls += 1;
      tally.ms += performance.now() - started;
      tallies.set(key, tally);
    }
  };
}

function report(): void {
  const total = [...tallies.values()].reduce((sum, t) => sum + t.ms, 0);
  console.error(`sqlite statements: ${total.toFixed(0)} ms in all; the costliest:`);
  for (const [sql, t] of [...tallies.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) {
    console.error(`${t.ms.toFixed(0).padStart(7)} ms ${String(t.calls).padStart(8)} calls ${((1000 * t.ms) / t.calls).toFixed(0).padStart(6)} µs  ${sql}`);
  }
}
process.once('exit', report);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
