import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startProcess, waitForHttp, type Managed } from '../lifecycle.js';
import { CONTACTS, DEALS, LEAD_DEFAULTS } from './data.js';
import type { Installed } from './install.js';

// The 001 example as a Node-RED 4 flow: http in → function (find contact, find deal: the same fixed
// data as Conveyor's stand-ins) → switch (deal found?) → switch (contact known?) → function (get deal
// by id | lead defaults) → function (remember deal) → http response. Node-RED keeps no run history.

export const NODE_RED_PATH = '/deal-routing';

function flows() {
  const data = `const CONTACTS = ${JSON.stringify(CONTACTS)};\nconst DEALS = ${JSON.stringify(DEALS)};\n`;
  const fn = (id: string, name: string, func: string, wires: string[][]) => ({ id, type: 'function', z: 'tab', name, func: data + func, outputs: wires.length, wires });
  return [
    { id: 'tab', type: 'tab', label: '001 deal routing' },
    { id: 'in', type: 'http in', z: 'tab', url: NODE_RED_PATH, method: 'post', upload: false, wires: [['find']] },
    fn(
      'find',
      'find contact, find deal',
      `const request = msg.payload;\nconst contactId = CONTACTS[request.phone] ?? null;\nconst deal = DEALS[contactId];\nmsg.ctx = { request, 'bitrix-find-contact': { ID: contactId }, 'get-bitrix-deal': { value: deal ? { ID: deal.ID } : null } };\nreturn msg;`,
      [['has-deal']],
    ),
    { id: 'has-deal', type: 'switch', z: 'tab', name: 'deal found?', property: "ctx['get-bitrix-deal'].value", propertyType: 'msg', rules: [{ t: 'nnull' }, { t: 'else' }], checkall: 'false', outputs: 2, wires: [['get-deal'], ['has-contact']] },
    { id: 'has-contact', type: 'switch', z: 'tab', name: 'contact known?', property: "ctx['bitrix-find-contact'].ID", propertyType: 'msg', rules: [{ t: 'null' }, { t: 'else' }], checkall: 'false', outputs: 2, wires: [['lead'], ['remember']] },
    fn('get-deal', 'get deal by id', `const id = msg.ctx['get-bitrix-deal'].value.ID;\nmsg.ctx['get-bitrix-deal-by-id'] = Object.values(DEALS).find((d) => d.ID === id);\nreturn msg;`, [['remember']]),
    fn('lead', 'lead default values', `msg.ctx['bitrix-lead-set-default-values'] = ${JSON.stringify(LEAD_DEFAULTS)};\nreturn msg;`, [['remember']]),
    fn('remember', 'remember deal', `msg.ctx['remember-deal'] = {};\nmsg.payload = { state: 'succeeded', context: msg.ctx };\nreturn msg;`, [['out']]),
    { id: 'out', type: 'http response', z: 'tab', statusCode: '200', headers: {}, wires: [] },
    // For the readiness probe only.
    { id: 'ready-in', type: 'http in', z: 'tab', url: '/ready', method: 'get', wires: [['ready-out']] },
    { id: 'ready-out', type: 'http response', z: 'tab', statusCode: '200', headers: {}, wires: [] },
  ];
}

export interface NodeRedProcess {
  url: string;
  proc: Managed;
  stop(): Promise<void>;
}

/** Headless Node-RED (no editor, no admin API) with the flow above, on a free port. */
export async function startNodeRed(installed: Installed, workDir: string): Promise<NodeRedProcess> {
  const userDir = join(workDir, 'node-red');
  mkdirSync(userDir, { recursive: true });
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows(), null, 2));
  writeFileSync(
    join(userDir, 'settings.js'),
    `module.exports = { flowFile: 'flows.json', credentialSecret: false, httpAdminRoot: false, httpNodeRoot: '/', ` +
      `logging: { console: { level: 'warn', metrics: false, audit: false } }, editorTheme: { tours: false }, telemetry: { enabled: false } };\n`,
  );
  const port = await freePort();
  const redJs = join(installed.dir, 'node_modules', 'node-red', 'red.js');
  const proc = startProcess('node-red', process.execPath, [redJs, '-u', userDir, '-s', join(userDir, 'settings.js'), '-p', String(port)], { cwd: userDir });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/ready`, proc);
  return {
    url,
    proc,
    async stop() {
      await proc.stop();
    },
  };
}
