// `npm run bench [-- options]`: runs the benchmark suites, prints a table and writes the figures to
// .bench/results-<timestamp>.json. Exits 1 when a case got non-2xx answers or a goal is missed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { flowsPeers } from './flows-peers.js';
import { httpFoundation } from './http-foundation.js';
import { roistatSync } from './roistat-sync.js';
import type { DatabaseKind } from './lib/databases.js';
import { REPO_ROOT } from './lib/hub-process.js';
import { cleanupAll } from './lib/lifecycle.js';
import type { BenchOptions, CaseResult, Suite, SuiteResult } from './lib/types.js';

const SUITES: Suite[] = [httpFoundation, roistatSync, flowsPeers];

const HELP = `Usage: npm run bench -- [options]
  --only <names>        comma-separated suites to run (${SUITES.map((s) => s.name).join(', ')}); default all
  --duration <s>        measured seconds per case (default 10)
  --warmup <s>          unmeasured seconds before each case (default 3)
  --connections <n>     concurrent connections, the same for every case (default 20)
  --pipelining <n>      requests in flight per connection (default 1)
  --clients <n>         clients seeded before the directory cases (default 10000)
  --sync-changes <n>    client changes and deal changes for roistat-sync (default 100000 each)
  --sync-window <s>     seconds of registration measured by roistat-sync (default 40)
  --databases <list>    sqlite,postgres (default both; PostgreSQL from BENCH_PG_URL or postgres://postgres@127.0.0.1:5432)
  --rounds <n>          flows-peers: rounds over all its systems, one after another (default 3); a ratio
                        is the median of the rounds' ratios, each taken within one round
  --profile             run the hub under --cpu-prof and print where its time went`;

function options(): { suites: Suite[]; bench: BenchOptions; stamp: string } {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '20' },
      pipelining: { type: 'string', default: '1' },
      clients: { type: 'string', default: '10000' },
      'sync-changes': { type: 'string', default: '100000' },
      'sync-window': { type: 'string', default: '40' },
      databases: { type: 'string', default: 'sqlite,postgres' },
      rounds: { type: 'string', default: '3' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const number = (name: keyof typeof values, min: number) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number ≥ ${min} (got "${values[name]}")`);
    return n;
  };
  const names = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names?.filter((n) => !SUITES.some((s) => s.name === n)) ?? [];
  if (unknown.length) usage(`unknown suite ${unknown.join(', ')}; there are: ${SUITES.map((s) => s.name).join(', ')}`);
  const databases = values.databases!.split(',').map((s) => s.trim());
  if (databases.length === 0 || databases.some((d) => d !== 'sqlite' && d !== 'postgres')) usage('--databases takes sqlite, postgres or sqlite,postgres');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    suites: names ? SUITES.filter((s) => names.includes(s.name)) : SUITES,
    stamp,
    bench: {
      durationS: number('duration', 1),
      warmupS: number('warmup', 0),
      connections: Math.floor(number('connections', 1)),
      pipelining: Math.floor(number('pipelining', 1)),
      clients: Math.floor(number('clients', 20)),
      syncChanges: Math.floor(number('sync-changes', 100)),
      syncWindowS: number('sync-window', 5),
      databases: databases as DatabaseKind[],
      rounds: Math.floor(number('rounds', 1)),
      profile: values.profile!,
      outDir: join(REPO_ROOT, '.bench', stamp),
    },
  };
}

function usage(message: string): never {
  console.error(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

function machine() {
  const version = (pkg: string) => (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    fastify: version('fastify'),
    autocannon: version('autocannon'),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** autocannon's latency histogram counts whole milliseconds. */
const ms = (value: number) => (value < 1 ? '<1' : String(Math.round(value)));

function table(cases: CaseResult[]): string {
  const inRounds = cases.some((c) => c.roundsRps);
  const head = ['case', 'req/s', '±sd', 'p50 ms', 'p99 ms', 'non-2xx', 'vs bare', 'CPU µs/req', ...(inRounds ? ['req/s of each round'] : [])];
  const rows = cases.map((c) => [
    c.name,
    String(Math.round(c.rps.mean)),
    String(Math.round(c.rps.stddev)),
    ms(c.latencyMs.p50),
    ms(c.latencyMs.p99),
    String(c.non2xx + c.errors + c.timeouts),
    c.ratio === undefined ? '—' : `${(c.ratio * 100).toFixed(1)}%`,
    c.serverCpuUsPerRequest === undefined ? '—' : String(c.serverCpuUsPerRequest),
    ...(inRounds ? [c.roundsRps?.join(' / ') ?? '—'] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const note = inRounds ? '\n(a case measured in rounds shows its median round; the last column has every round)' : '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + note;
}

async function main(): Promise<number> {
  const { suites, bench, stamp } = options();
  const started = new Date();
  const host = machine();
  console.log(`bench: ${suites.map((s) => s.name).join(', ')} — ${bench.durationS} s per case after ${bench.warmupS} s warm-up, ${bench.connections} connections × ${bench.pipelining} pipelining`);
  console.log(`       ${host.cpu}, ${host.memoryGb} GB, Node ${host.node}, Fastify ${host.fastify}, autocannon ${host.autocannon}, load average ${host.loadAverageAtStart.join(' ')}`);
  const results: Record<string, SuiteResult> = {};
  for (const suite of suites) {
    console.log(`\n${suite.name}: ${suite.description}`);
    results[suite.name] = await suite.run(bench);
  }

  let failed = false;
  for (const [name, result] of Object.entries(results)) {
    console.log(`\n${name}\n${table(result.cases)}`);
    for (const goal of result.goals) {
      console.log(`${goal.pass ? 'PASS' : 'FAIL'}  ${goal.name}: ${(goal.actual * 100).toFixed(1)}%`);
      failed ||= !goal.pass;
    }
    for (const problem of result.problems) console.error(`BROKEN  ${problem}`);
    failed ||= result.problems.length > 0;
  }

  mkdirSync(join(REPO_ROOT, '.bench'), { recursive: true });
  const file = join(REPO_ROOT, '.bench', `results-${stamp}.json`);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  writeFileSync(file, `${JSON.stringify({ started: started.toISOString(), finished: new Date().toISOString(), command, machine: host, options: bench, results }, null, 2)}\n`);
  console.log(`\nresults: ${relative(process.cwd(), file)}`);
  return failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping servers and dropping scratch databases…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`\nbench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
