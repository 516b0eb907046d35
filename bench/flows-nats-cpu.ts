import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ADMIN_AUTH } from './lib/clients-data.js';
import { scratchDatabase } from './lib/databases.js';
import { FLOW_ID, startConveyor } from './lib/peers/conveyor.js';
import { startNats } from './lib/peers/nats.js';
import { REQUEST_BODIES } from './lib/peers/data.js';

// Where the CPU of the flows-peers NATS case goes, per process: the hub, the process serving the
// stand-in modules over JetStream, nats-server and the load generator (this process), in µs per request,
// under 20 concurrent ?wait requests on SQLite. On a 2-core machine their sum bounds the req/s.
//   node --import tsx bench/flows-nats-cpu.ts [seconds]      (from the repo root)

const seconds = Number(process.argv[2] ?? 6);
const TICK_US = 10_000; // /proc/<pid>/stat counts CPU in clock ticks of 10 ms
const cpuUs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime + stime
};

const db = await scratchDatabase('sqlite');
const dir = mkdtempSync(join(tmpdir(), 'conveyor-flows-nats-cpu-'));
const nats = await startNats();
try {
  const hub = await startConveyor(db, dir, { nats: nats.url });
  const port = new URL(nats.url).port;
  const server = Number(execFileSync('pgrep', ['-f', `nats-server -js -a 127.0.0.1 -p ${port} `]).toString().trim().split('\n')[0]);
  const load = {
    url: hub.url,
    connections: 20,
    requests: REQUEST_BODIES.map((b) => ({ method: 'POST', path: `/flows/${FLOW_ID}/requests?wait=5000`, headers: { 'content-type': 'application/json', authorization: ADMIN_AUTH }, body: JSON.stringify(b) })),
  };
  await autocannon({ ...load, duration: 2 }); // warm-up
  const pids = { hub: hub.proc.child.pid!, modules: nats.modules.child.pid!, 'nats-server': server, 'load generator': process.pid };
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuUs(pid)]));
  const result = await autocannon({ ...load, duration: seconds });
  const per = Object.entries(pids).map(([name, pid]) => `${name} ${Math.round((cpuUs(pid) - before[name]!) / result.requests.total)}`);
  await hub.stop();
  console.log(`${Math.round(result.requests.average)} req/s (non-2xx ${result.non2xx}); CPU µs per request: ${per.join(', ')}`);
} finally {
  await nats.stop();
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}
