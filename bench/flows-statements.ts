import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ADMIN_AUTH } from './lib/clients-data.js';
import { scratchDatabase } from './lib/databases.js';
import { FLOW_ID, startConveyor } from './lib/peers/conveyor.js';
import { REQUEST_BODIES } from './lib/peers/data.js';

// Which SQL a flow run spends its database time on: the flows-peers hub (001 example, local stand-ins)
// with every statement timed (lib/sqlite-statement-times.ts, lib/pg-statement-times.ts), under 20
// concurrent ?wait requests. Prints the runs done and the costliest statements (total ms, calls, µs each).
//   node --import tsx bench/flows-statements.ts [seconds] [sqlite|postgres]      (from the repo root)

const seconds = Number(process.argv[2] ?? 6);
const kind = process.argv[3] === 'postgres' ? 'postgres' : 'sqlite';
const db = await scratchDatabase(kind);
const dir = mkdtempSync(join(tmpdir(), 'conveyor-flows-statements-'));
try {
  const hub = await startConveyor(db, dir, { nodeArgs: ['--import', 'tsx', '--import', `./bench/lib/${kind === 'postgres' ? 'pg' : 'sqlite'}-statement-times.ts`] });
  const result = await autocannon({
    url: hub.url,
    connections: 20,
    duration: seconds,
    requests: REQUEST_BODIES.map((b) => ({ method: 'POST', path: `/flows/${FLOW_ID}/requests?wait=5000`, headers: { 'content-type': 'application/json', authorization: ADMIN_AUTH }, body: JSON.stringify(b) })),
  });
  await hub.stop();
  console.log(`${result.requests.total} runs in ${seconds} s (${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx})`);
  console.log(hub.proc.output().split('\n').filter((line) => /^(sqlite|postgres) statements|µs /.test(line)).join('\n'));
} finally {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
}
