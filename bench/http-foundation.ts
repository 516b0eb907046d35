import { fileURLToPath } from 'node:url';
import type { Request } from 'autocannon';
import { ADMIN_AUTH, addClientRequests, getClientRequests } from './lib/clients-data.js';
import { postgresVersion, scratchDatabase, type ScratchDatabase } from './lib/databases.js';
import { freePort, startProcess, waitForHttp } from './lib/lifecycle.js';
import { runLoad, type LoadResult } from './lib/load.js';
import { seedClients } from './lib/seed.js';
import { REPO_ROOT, startHub, type HubProcess } from './lib/hub-process.js';
import { reportProfile } from './lib/profile.js';
import type { BenchOptions, CaseResult, Suite, SuiteResult } from './lib/types.js';

// The foundation benchmark: authenticated directory reads and writes through the whole hub (HTTP,
// Basic Auth, permission check, validation, Kysely, database, serialisation), on SQLite and on
// PostgreSQL, against a bare Fastify route in the same run. A bare-route run sits before and after
// every case, and each case is compared with the mean of its two neighbours, so drift on a noisy
// shared machine hits both sides of the ratio alike.

const SUITE = 'http-foundation';
const READ_GOAL = 0.4; // authenticated SQLite reads ≥ 40 % of the bare route's rate
const REQUEST_SET = 4096; // distinct pre-built requests per case, cycled

type Measured = Omit<CaseResult, 'suite'>;

export const httpFoundation: Suite = {
  name: SUITE,
  description: 'Authenticated GET /clients/:id and POST /clients/add on SQLite and PostgreSQL vs a bare Fastify route',
  async run(options) {
    const measured: Measured[] = [];
    let bareRuns = 0;
    const info: Record<string, unknown> = {};
    const load = (url: string, serverPid: number | undefined, requests: Request[]) =>
      runLoad({ url, serverPid, connections: options.connections, pipelining: options.pipelining, durationS: options.durationS, warmupS: options.warmupS, requests });

    const barePort = await freePort();
    const bare = startProcess('bare Fastify', process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lib/baseline-server.ts', import.meta.url)), String(barePort)]);
    const bareUrl = `http://127.0.0.1:${barePort}`;
    await waitForHttp(`${bareUrl}/`, bare);
    // Same request shape as the hub cases (Authorization header included, ignored by the route).
    const bareRequests: Request[] = [{ method: 'GET', path: '/', headers: { authorization: ADMIN_AUTH } }];
    const baseline = async () => {
      const result = await load(bareUrl, bare.child.pid, bareRequests);
      measured.push({ name: `bare GET / #${++bareRuns}`, target: 'bare', request: 'GET /', ...result });
      progress(measured.at(-1)!);
    };

    try {
      if (options.databases.includes('postgres')) info.postgres = await postgresVersion();
      await baseline();
      for (const kind of options.databases) {
        const db = await scratchDatabase(kind);
        try {
          const { minId, maxId } = await seed(db, options);
          info[`${kind}Seeded`] = { clients: options.clients, minId, maxId };
          const cases: [string, Request[]][] = [
            ['GET /clients/:id', getClientRequests(minId, maxId, REQUEST_SET, 1)],
            ['POST /clients/add', addClientRequests(REQUEST_SET, 2)],
          ];
          for (const [request, requests] of cases) {
            const name = `${kind} ${request}`;
            const hub = await startHub(db, options.outDir, options.profile ? slug(name) : undefined);
            let result: LoadResult;
            try {
              result = await load(hub.url, hub.proc.child.pid, requests);
            } finally {
              await hub.stop();
            }
            measured.push({ name, target: kind, request, ...result, profile: profileOf(hub, result) });
            progress(measured.at(-1)!);
            await baseline(); // closes this case's bracket and opens the next one's
          }
        } finally {
          await db.drop();
        }
      }
    } finally {
      await bare.stop();
    }
    return finish(measured, info);
  },
};

/** Migrates the fresh database the way an operator would (one hub start), then seeds the clients. */
async function seed(db: ScratchDatabase, options: BenchOptions) {
  const started = Date.now();
  await (await startHub(db, options.outDir)).stop();
  const range = await seedClients(db, options.clients);
  console.log(`  ${db.kind}: migrated and seeded ${options.clients} clients in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return range;
}

/** Where the hub's time went during the measured window (with --profile). */
function profileOf(hub: HubProcess, result: LoadResult) {
  return hub.profileFile ? reportProfile(hub.profileFile(), result.windowUs, REPO_ROOT) : undefined;
}

/** Ratios to the neighbouring bare runs, the 40 % goal, and every broken case. */
function finish(measured: Measured[], info: Record<string, unknown>): SuiteResult {
  const cases: CaseResult[] = measured.map((m) => ({ suite: SUITE, ...m }));
  cases.forEach((c, i) => {
    if (c.target === 'bare') return;
    const neighbours = [cases[i - 1], cases[i + 1]].filter((n) => n?.target === 'bare');
    c.baselineRps = neighbours.reduce((s, n) => s + n.rps.mean, 0) / neighbours.length;
    c.ratio = c.rps.mean / c.baselineRps;
  });
  const problems = cases
    .filter((c) => c.non2xx || c.errors || c.timeouts)
    .map((c) => `${c.name}: ${c.non2xx} non-2xx (status ${JSON.stringify(c.statusCodes)}), ${c.errors} socket errors, ${c.timeouts} timeouts`);
  const reads = cases.find((c) => c.name === 'sqlite GET /clients/:id');
  const goals = reads?.ratio === undefined ? [] : [{ name: `${reads.name} ≥ ${READ_GOAL * 100}% of bare req/s`, actual: reads.ratio, threshold: READ_GOAL, pass: reads.ratio >= READ_GOAL }];
  return { cases, goals, problems, info };
}

function progress(c: Measured): void {
  const cpu = c.serverCpuUsPerRequest === undefined ? '' : `  ${c.serverCpuUsPerRequest} µs CPU/req`;
  console.log(`  ${c.name.padEnd(28)} ${Math.round(c.rps.mean).toString().padStart(7)} req/s  p99 ${c.latencyMs.p99} ms${cpu}${c.non2xx ? `  NON-2XX: ${c.non2xx}` : ''}`);
}

function slug(name: string): string {
  return name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
}
