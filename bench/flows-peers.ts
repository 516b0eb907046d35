import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request } from 'autocannon';
import { ADMIN_AUTH } from './lib/clients-data.js';
import { postgresVersion, scratchDatabase, type DatabaseKind } from './lib/databases.js';
import { onCleanup } from './lib/lifecycle.js';
import { runLoad } from './lib/load.js';
import { FLOW_ID, startConveyor } from './lib/peers/conveyor.js';
import { REQUEST_BODIES } from './lib/peers/data.js';
import { mainThreadProfile, REPO_ROOT } from './lib/hub-process.js';
import { reportProfile } from './lib/profile.js';
import { median } from './lib/stats.js';
import { ensurePeer, type Installed } from './lib/peers/install.js';
import { N8N_PATH, startN8n } from './lib/peers/n8n.js';
import { startNats } from './lib/peers/nats.js';
import { NODE_RED_PATH, startNodeRed } from './lib/peers/node-red.js';
import type { BenchOptions, CaseResult, GoalResult, Suite, SuiteResult } from './lib/types.js';

// The 001 example (find contact → find deal → condition → deal by id | lead defaults | straight on →
// remember deal) with local stand-in modules, side by side: Conveyor with durable per-step history on
// SQLite and PostgreSQL (and with its steps over NATS), Node-RED 4 (no history) and n8n 1 (default
// execution saving). Same autocannon settings for every system; each request is measured to the end of
// its run (Conveyor: ?wait=5000, and a 202 — not finished in time — counts as broken).

const SUITE = 'flows-peers';
const N8N_GOAL = 10; // Conveyor ≥ 10× n8n's req/s
const NODE_RED_GOAL = 2; // Conveyor ≥ 2× Node-RED's req/s
const NATS_GOAL = 1 / 3; // NATS-dispatched steps ≥ ⅓ of local dispatch's req/s

// n8n 1.x depends on xlsx as a tarball from cdn.sheetjs.com; where that host is unreachable the whole
// install fails, so take the registry's last xlsx instead (only n8n's spreadsheet node uses it). Its
// isolated-vm 6 does not compile against Node 20's V8; 5.0.4 does (Node ≥ 18).
const N8N_OVERRIDES = { xlsx: '0.18.5', 'isolated-vm': '5.0.4' };

/** Which peers to run (default both): BENCH_PEERS=node-red skips n8n, BENCH_PEERS= skips both. */
const PEERS = (process.env.BENCH_PEERS ?? 'node-red,n8n').split(',').map((s) => s.trim());

type Measured = Omit<CaseResult, 'suite'> & { round: number };
interface System {
  name: string;
  target: CaseResult['target'];
  start(): Promise<{ url: string; pid: number | undefined; stop(): Promise<void>; profileFile?: () => string | undefined }>;
  path: string;
  headers: Record<string, string>;
}

/** Bodies in an order that gives every connection's slice all three routes (see load-worker.ts). */
function requestsFor(system: System, connections: number): Request[] {
  return Array.from({ length: connections * REQUEST_BODIES.length }, (_, j) => ({
    method: 'POST',
    path: system.path,
    headers: { 'content-type': 'application/json', ...system.headers },
    body: JSON.stringify(REQUEST_BODIES[Math.floor(j / connections) % REQUEST_BODIES.length]),
  }));
}

/** Each body once before the load: 200 and the route of the 001 example, so every system does the same work. */
async function probe(system: System, url: string): Promise<void> {
  const expect = [(t: string) => t.includes('Sofa') && !t.includes('Request from the site'), (t: string) => !t.includes('Sofa') && !t.includes('Request from the site'), (t: string) => t.includes('Request from the site') && !t.includes('Sofa')];
  const deadline = Date.now() + 30_000; // n8n registers its webhooks a moment after /healthz answers
  for (const [i, body] of REQUEST_BODIES.entries()) {
    for (;;) {
      const response = await fetch(`${url}${system.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...system.headers }, body: JSON.stringify(body) });
      const text = await response.text();
      if (response.status === 200 && expect[i]!(text)) break;
      if (Date.now() > deadline) throw new Error(`${system.name}: request ${JSON.stringify(body)} answered ${response.status}, not the expected route: ${text.slice(0, 1000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export const flowsPeers: Suite = {
  name: SUITE,
  description: 'The 001 example through Conveyor (SQLite, PostgreSQL, NATS), Node-RED 4 and n8n 1, same load',
  async run(options) {
    const rounds: Measured[] = [];
    const problems: string[] = [];
    const info: Record<string, unknown> = {};
    const workDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-peers-'));
    const removeWorkDir = onCleanup(async () => rmSync(workDir, { recursive: true, force: true }));
    try {
      if (options.databases.includes('postgres')) info.postgres = await postgresVersion();
      const systems: System[] = [];
      const peer = async (name: string, spec: string, make: (i: Installed) => System, overrides?: Record<string, string>) => {
        if (!PEERS.includes(name)) return void (info[name] = 'not measured: left out by BENCH_PEERS');
        try {
          const installed = await ensurePeer(name, spec, overrides);
          info[name] = installed.version;
          systems.push(make(installed));
        } catch (err) {
          info[name] = `not measured: ${(err as Error).message.split('\n')[0]}`;
          problems.push(`${name} not measured: ${(err as Error).message}`);
        }
      };
      await peer('node-red', 'node-red@4', (i) => ({ name: `node-red ${i.version}`, target: 'peer', path: NODE_RED_PATH, headers: {}, start: async () => wrap(await startNodeRed(i, workDir)) }));
      await peer('n8n', 'n8n@1', (i) => ({ name: `n8n ${i.version}`, target: 'peer', path: N8N_PATH, headers: {}, start: async () => wrap(await startN8n(i, workDir)) }), N8N_OVERRIDES);
      for (const kind of options.databases) systems.push(conveyor(kind, workDir, options.profile));
      systems.push(conveyor(options.databases[0]!, workDir, options.profile, true));

      // Rounds, each over every system in turn: the machine's load drifts over minutes, and a ratio of
      // two systems measured in the same round is steadier than one of systems measured minutes apart.
      for (let round = 1; round <= options.rounds; round++) {
        if (options.rounds > 1) console.log(`  round ${round} of ${options.rounds}`);
        for (const system of systems) {
          const result = await measure(system, options, problems);
          if (result) rounds.push({ round, ...result });
        }
      }
    } finally {
      await removeWorkDir();
    }
    return finish(rounds, problems, info, options);
  },
};

/** One system under the load, from its start to its stop; undefined (and a problem) when it broke. */
async function measure(system: System, options: BenchOptions, problems: string[]): Promise<Omit<Measured, 'round'> | undefined> {
  console.log(`  ${system.name}: starting…`);
  let server;
  try {
    server = await system.start();
    await probe(system, server.url);
    const result = await runLoad({ url: server.url, serverPid: server.pid, connections: options.connections, pipelining: options.pipelining, durationS: options.durationS, warmupS: options.warmupS, requests: requestsFor(system, options.connections) });
    const stopped = server;
    server = undefined; // stopped here, so that a profile (written at exit) can be read
    await stopped.stop();
    const profile = stopped.profileFile ? reportProfile(stopped.profileFile(), result.windowUs, REPO_ROOT) : undefined;
    const measured = { name: system.name, target: system.target, request: `POST ${system.path}`, ...result, profile };
    progress(measured);
    return measured;
  } catch (err) {
    problems.push(`${system.name} not measured: ${(err as Error).message}`);
    console.error(`  ${system.name}: not measured: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  } finally {
    await server?.stop();
  }
}

function wrap(p: { url: string; proc: { child: { pid?: number } }; stop(): Promise<void> }) {
  return { url: p.url, pid: p.proc.child.pid, stop: () => p.stop() };
}

/** `profile`: the hub runs under --cpu-prof and where its time went is printed after the load. */
function conveyor(kind: DatabaseKind, workDir: string, profile: boolean, nats = false): System {
  return {
    name: `conveyor ${kind}${nats ? ' nats' : ''}`,
    target: kind,
    path: `/flows/${FLOW_ID}/requests?wait=5000`,
    headers: { authorization: ADMIN_AUTH },
    async start() {
      const db = await scratchDatabase(kind);
      const queue = nats ? await startNats() : undefined;
      const dir = mkdtempSync(join(workDir, 'conveyor-'));
      const profileDir = join(dir, 'profiles');
      const hub = await startConveyor(db, dir, { nats: queue?.url, nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
      return {
        url: hub.url,
        pid: hub.proc.child.pid,
        profileFile: profile ? () => mainThreadProfile(profileDir) : undefined,
        async stop() {
          try {
            await hub.stop();
          } finally {
            await queue?.stop();
            await db.drop();
          }
        },
      };
    },
  };
}

/** Each system's median round as its case (with every round's req/s); each goal's ratio is the median of its per-round ratios. */
function finish(rounds: Measured[], problems: string[], info: Record<string, unknown>, options: BenchOptions): SuiteResult {
  const names = [...new Set(rounds.map((r) => r.name))];
  const cases: CaseResult[] = names.map((name) => {
    const mine = rounds.filter((r) => r.name === name);
    const byRps = [...mine].sort((a, b) => a.rps.mean - b.rps.mean);
    const { round: _, ...middle } = byRps[Math.floor((byRps.length - 1) / 2)]!;
    return { suite: SUITE, ...middle, ...(mine.length > 1 ? { roundsRps: mine.map((r) => Math.round(r.rps.mean)) } : {}) };
  });
  for (const c of rounds) {
    const unfinished = Number(c.statusCodes['202'] ?? 0); // Conveyor: the run did not end within ?wait
    // A server that answers fewer requests than it has connections in the whole run is not keeping up
    // at all (autocannon counts a timeout only after 10 s): its req/s would make any ratio look good.
    if (c.total < options.connections) problems.push(`${c.name} (round ${c.round}): only ${c.total} requests answered in ${c.durationS} s with ${options.connections} connections`);
    if (c.non2xx || c.errors || c.timeouts || unfinished) {
      problems.push(`${c.name} (round ${c.round}): ${c.non2xx} non-2xx, ${unfinished} unfinished (202), ${c.errors} socket errors, ${c.timeouts} timeouts (status ${JSON.stringify(c.statusCodes)})`);
    }
  }
  const goals: GoalResult[] = [];
  /** The median over the rounds where both were measured of mine's req/s over theirs. */
  const goal = (name: string, mine: (n: string) => boolean, theirs: (n: string) => boolean, threshold: number) => {
    const ratios: number[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const a = rounds.find((r) => r.round === round && mine(r.name))?.rps.mean;
      const b = rounds.find((r) => r.round === round && theirs(r.name))?.rps.mean;
      if (a !== undefined && b) ratios.push(a / b);
    }
    if (ratios.length === 0) return;
    const actual = median(ratios);
    const spread = ratios.length > 1 ? ` (median of ${ratios.length} rounds: ${ratios.map((r) => `${(r * 100).toFixed(1)}%`).join(', ')})` : '';
    goals.push({ name: `${name}${spread}`, actual, threshold, pass: actual >= threshold });
  };
  for (const kind of options.databases) {
    const mine = (n: string) => n === `conveyor ${kind}`;
    goal(`conveyor ${kind} req/s ≥ ${N8N_GOAL * 100}% of n8n's`, mine, (n) => n.startsWith('n8n'), N8N_GOAL);
    goal(`conveyor ${kind} req/s ≥ ${NODE_RED_GOAL * 100}% of node-red's`, mine, (n) => n.startsWith('node-red'), NODE_RED_GOAL);
  }
  const first = options.databases[0];
  goal(`conveyor ${first} with steps over NATS ≥ ${(NATS_GOAL * 100).toFixed(1)}% of local dispatch req/s`, (n) => n === `conveyor ${first} nats`, (n) => n === `conveyor ${first}`, NATS_GOAL);
  return { cases, goals, problems, info };
}

function progress(c: Omit<Measured, 'round'>): void {
  const cpu = c.serverCpuUsPerRequest === undefined ? '' : `  ${c.serverCpuUsPerRequest} µs CPU/req`;
  console.log(`  ${c.name.padEnd(28)} ${Math.round(c.rps.mean).toString().padStart(7)} req/s  p50 ${c.latencyMs.p50} ms  p99 ${c.latencyMs.p99} ms${cpu}  status ${JSON.stringify(c.statusCodes)}`);
}
