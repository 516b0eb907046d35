import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startProcess, waitForHttp, type Managed } from '../lifecycle.js';
import { CONTACTS, DEALS, LEAD_DEFAULTS } from './data.js';
import type { Installed } from './install.js';

// The 001 example as an n8n 1.x workflow: Webhook → Set (find contact, find deal: the same fixed data
// as Conveyor's stand-ins, as expressions) → IF (deal found?) → IF (contact known?) → Set (get deal by
// id | lead defaults) → Set (remember deal), answered with the last node's data. n8n runs with its
// defaults: SQLite, every execution saved with its data.

export const N8N_PATH = '/webhook/deal-routing';
const WORKFLOW_ID = 'BenchDealRoute01';

const assign = (name: string, value: string, type = 'string') => ({ id: `${name}-id`, name, value, type });
const set = (name: string, x: number, assignments: object[]) => ({
  parameters: { assignments: { assignments }, includeOtherFields: true, options: {} },
  id: `${name}-node`.replace(/\W+/g, '-'),
  name,
  type: 'n8n-nodes-base.set',
  typeVersion: 3.4,
  position: [x, 0],
});
const ifNode = (name: string, x: number, left: string, operation: 'notEmpty' | 'empty') => ({
  parameters: {
    conditions: {
      options: { caseSensitive: true, leftValue: '', typeValidation: 'loose' },
      conditions: [{ id: `${name}-c`.replace(/\W+/g, '-'), leftValue: left, rightValue: '', operator: { type: 'string', operation, singleValue: true } }],
      combinator: 'and',
    },
    looseTypeValidation: true,
    options: {},
  },
  id: `${name}-node`.replace(/\W+/g, '-'),
  name,
  type: 'n8n-nodes-base.if',
  typeVersion: 2,
  position: [x, 0],
});

function workflow() {
  // "}}" inside an expression would end it early: nested literals get a space between their braces.
  const literal = (value: unknown) => JSON.stringify(value).replace(/}}/g, '} }');
  const contacts = literal(CONTACTS);
  const dealIds = literal(Object.fromEntries(Object.entries(DEALS).map(([contact, d]) => [contact, d.ID])));
  const deals = literal(Object.fromEntries(Object.values(DEALS).map((d) => [d.ID, d])));
  const to = (node: string) => ({ node, type: 'main', index: 0 });
  return {
    id: WORKFLOW_ID,
    name: '001 deal routing (bench)',
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      {
        parameters: { httpMethod: 'POST', path: 'deal-routing', responseMode: 'lastNode', options: {} },
        id: 'webhook-node',
        name: 'Webhook',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2,
        position: [0, 0],
        webhookId: '7d1c6a52-3c1e-4d0e-9a51-1c2b3d4e5f60',
      },
      set('find contact, find deal', 200, [
        assign('contactId', `={{ ${contacts}[$json.body.phone] ?? '' }}`),
        assign('dealId', `={{ ${dealIds}[${contacts}[$json.body.phone]] ?? '' }}`),
      ]),
      ifNode('deal found?', 400, '={{ $json.dealId }}', 'notEmpty'),
      ifNode('contact unknown?', 600, '={{ $json.contactId }}', 'empty'),
      set('get deal by id', 800, [assign('deal', `={{ ${deals}[$json.dealId] }}`, 'object')]),
      set('lead default values', 800, Object.entries(LEAD_DEFAULTS).map(([k, v]) => assign(k, v))),
      set('remember deal', 1000, [assign('remembered', '=true', 'boolean')]),
    ],
    connections: {
      Webhook: { main: [[to('find contact, find deal')]] },
      'find contact, find deal': { main: [[to('deal found?')]] },
      'deal found?': { main: [[to('get deal by id')], [to('contact unknown?')]] },
      'contact unknown?': { main: [[to('lead default values')], [to('remember deal')]] },
      'get deal by id': { main: [[to('remember deal')]] },
      'lead default values': { main: [[to('remember deal')]] },
    },
  };
}

export interface N8nProcess {
  url: string;
  proc: Managed;
  stop(): Promise<void>;
}

/** n8n's CLI in `userFolder` with no telemetry, its defaults otherwise (SQLite, executions saved). */
function n8nEnv(userFolder: string, port: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: userFolder,
    N8N_USER_FOLDER: userFolder,
    N8N_PORT: String(port),
    N8N_LISTEN_ADDRESS: '127.0.0.1',
    N8N_HOST: '127.0.0.1',
    N8N_LOG_LEVEL: 'warn',
    N8N_DIAGNOSTICS_ENABLED: 'false',
    N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
    N8N_TEMPLATES_ENABLED: 'false',
    N8N_PERSONALIZATION_ENABLED: 'false',
    N8N_HIRING_BANNER_ENABLED: 'false',
    N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
    N8N_SECURE_COOKIE: 'false',
    N8N_RUNNERS_ENABLED: 'false',
  };
}

async function cli(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`n8n ${args.join(' ')} failed (exit ${code}):\n${output.slice(-4000)}`);
}

/** Imports and activates the workflow through the CLI, then starts `n8n start` on a free port. */
export async function startN8n(installed: Installed, workDir: string): Promise<N8nProcess> {
  const userFolder = join(workDir, 'n8n');
  mkdirSync(userFolder, { recursive: true });
  const file = join(userFolder, 'workflow.json');
  writeFileSync(file, JSON.stringify(workflow(), null, 2));
  const port = await freePort();
  const env = n8nEnv(userFolder, port);
  const bin = join(installed.dir, 'node_modules', 'n8n', 'bin', 'n8n');
  await cli(bin, ['import:workflow', `--input=${file}`], env);
  await cli(bin, ['update:workflow', `--id=${WORKFLOW_ID}`, '--active=true'], env);
  const proc = startProcess('n8n', process.execPath, [bin, 'start'], { env, cwd: userFolder });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, proc, 180_000);
  return {
    url,
    proc,
    async stop() {
      await proc.stop();
    },
  };
}
