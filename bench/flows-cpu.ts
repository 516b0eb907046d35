import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ADMIN_AUTH } from './lib/clients-data.js';
import { scratchDatabase } from './lib/databases.js';
import { FLOW_ID, startConveyor } from './lib/peers/conveyor.js';
import { startNats, type NatsSetup } from './lib/peers/nats.js';
import { REQUEST_BODIES } from './lib/peers/data.js';

// Where the CPU of a flows-peers Conveyor case goes, per process, in µs per request, under 20 concurrent
// ?wait requests: the hub, the load generator (this process), and
//   sqlite    — nothing else (the database is inside the hub);
//   postgres  — every postgres process of the machine (the hub's backends, the WAL writer, autovacuum…);
//   nats      — SQLite, with the steps over JetStream: the process serving the modules and nats-server.
// Also the machine's busy and idle CPU over the window (kernel threads such as writeback included).
// On a 2-core machine the sum bounds the req/s of the case.
//   node --import tsx bench/flows-cpu.ts [seconds] [sqlite|postgres|nats]      (from the repo root)

const seconds = Number(process.argv[2] ?? 6);
const mode = process.argv[3] ?? 'nats';
if (!['sqlite', 'postgres', 'nats'].includes(mode)) throw new Error('usage: flows-cpu.ts [seconds] [sqlite|postgres|nats]');
const TICK_US = 10_000; // /proc counts CPU in clock ticks of 10 ms

const cpuUs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime + stime
};
/** The CPU of every live process with this command name (a process gone meanwhile counts as 0). */
const cpuOfAll = (comm: string) => {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) sum += cpuUs(Number(pid));
    } catch {
      // exited between the listing and the read
    }
  }
  return sum;
};
/** The machine's busy and idle CPU so far (all cores). */
const machine = () => {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: ticks.slice(0, 8).reduce((a, b) => a + b, 0) * TICK_US - idle * TICK_US, idle: idle * TICK_US };
};

const db = await scratchDatabase(mode === 'postgres' ? 'postgres' : 'sqlite');
const dir = mkdtempSync(join(tmpdir(), 'conveyor-flows-cpu-'));
let nats: NatsSetup | undefined;
try {
  if (mode === 'nats') nats = await startNats();
  const hub = await startConveyor(db, dir, { nats: nats?.url });
  const load = {
    url: hub.url,
    connections: 20,
    requests: REQUEST_BODIES.map((b) => ({ method: 'POST', path: `/flows/${FLOW_ID}/requests?wait=5000`, headers: { 'content-type': 'application/json', authorization: ADMIN_AUTH }, body: JSON.stringify(b) })),
  };
  await autocannon({ ...load, duration: 2 }); // warm-up
  const meters: Record<string, () => number> = { hub: () => cpuUs(hub.proc.child.pid!), 'load generator': () => cpuUs(process.pid) };
  if (mode === 'postgres') meters.postgres = () => cpuOfAll('postgres');
  if (nats) {
    const port = new URL(nats.url).port;
    const server = Number(execFileSync('pgrep', ['-f', `nats-server -js -a 127.0.0.1 -p ${port} `]).toString().trim().split('\n')[0]);
    meters.modules = () => cpuUs(nats!.modules.child.pid!);
    meters['nats-server'] = () => cpuUs(server);
  }
  const before = Object.fromEntries(Object.entries(meters).map(([name, read]) => [name, read()]));
  const machineBefore = machine();
  const result = await autocannon({ ...load, duration: seconds });
  const machineAfter = machine();
  const n = result.requests.total;
  const per = Object.entries(meters).map(([name, read]) => `${name} ${Math.round((read() - before[name]!) / n)}`);
  const busy = Math.round((machineAfter.busy - machineBefore.busy) / n);
  const idle = Math.round((machineAfter.idle - machineBefore.idle) / n);
  await hub.stop();
  console.log(`${mode}: ${Math.round(result.requests.average)} req/s (non-2xx ${result.non2xx}); CPU µs per request: ${per.join(', ')}; machine busy ${busy}, idle ${idle}`);
} finally {
  await nats?.stop();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}
