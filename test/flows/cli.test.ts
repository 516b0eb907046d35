import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'conveyor-flow-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function conveyor(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/conveyor.js', ...args], { cwd: root, env: { ...process.env, CONVEYOR_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('flow validate: every example is valid, exit 0', async () => {
  const r = await conveyor('flow', 'validate', 'examples/flows/001-deal-routing.yaml', 'examples/flows/order-notify.yaml', 'examples/flows/001-deal-routing.php');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /001-deal-routing\.yaml: ok \(flow 001-deal-routing v1, 5 steps\)/);
  assert.match(r.stdout, /order-notify\.yaml: ok \(flow order-notify v1, 8 steps\)/);
});

test('flow validate: exit 1 listing every problem of every file with file:line and path', async () => {
  const a = join(dir, 'a.yaml');
  writeFileSync(a, 'id: a\nsteps:\n  one:\n    subsystem: find-deal\n    next: [two]\n');
  const b = join(dir, 'b.json');
  writeFileSync(b, JSON.stringify({ id: 'b', steps: { x: { subsystem: 'set', condition: [{ field: 'x.v', operation: '!empty', result: [] }] } } }, null, 2));
  // Options are checked by the module named, the bitrix24.* ones included (no portal configured here).
  const c = join(dir, 'c.yaml');
  writeFileSync(c, 'id: c\nsteps:\n  post:\n    subsystem: http-request\n    options: { url: "https://crm.example/hook", method: POST, safe: true }\n    next: [deal]\n  deal:\n    subsystem: bitrix24.find-deal\n    options: { order: { ID: down } }\n');
  const r = await conveyor('flow', 'validate', a, b, c, 'examples/flows/order-notify.yaml');
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 5), [
    `${a}:4: steps.one.subsystem: unknown module "find-deal"`,
    `${a}:5: steps.one.next[0]: unknown step "two"`,
    `${b}:9: steps.x.condition[0].operation: unknown operation "!empty": use one of empty, exists, equals, in, gt, gte, lt, lte, contains, regex, with !| in front to negate (!|empty)`,
    `${c}:5: steps.post.options: http-request: options.safe is for GET and HEAD only: a POST changes things at the other end`,
    `${c}:9: steps.deal.options: bitrix24.find-deal: options.order must map fields to ASC or DESC`,
  ]);
  assert.match(lines[5], /order-notify\.yaml: ok/);
  assert.match(r.stderr, /3 of 4 flow file\(s\) have problems/);
});

test('flow validate: the config\'s remote modules and its plugins\' modules are known, and a plugin module checks its own options', async () => {
  const plugin = join(dir, 'acme-plugin.mjs');
  writeFileSync(plugin, "export const flowModules = [{ name: 'acme.lookup', run: () => null, optionProblems: (o) => (typeof o.table === 'string' ? [] : ['options.table must name a table']) }];\n");
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, `plugins: [${JSON.stringify(plugin)}]\nflows:\n  modules:\n    pricing: { transport: http, url: "http://127.0.0.1:9/price", secret: s3cret }\n`);
  const flow = join(dir, 'uses-config.yaml');
  writeFileSync(flow, 'id: uses-config\nsteps:\n  price:\n    subsystem: pricing\n    next: [look]\n  look:\n    subsystem: acme.lookup\n    options: { tabel: deals }\n    next: [other]\n  other:\n    subsystem: elsewhere\n');
  const r = await conveyor('--config', config, 'flow', 'validate', flow);
  assert.equal(r.code, 1);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `${flow}:8: steps.look.options: acme.lookup: options.table must name a table`,
    `${flow}:11: steps.other.subsystem: unknown module "elsewhere"`,
  ]);
  const named = await conveyor('--config', config, 'flow', 'validate', flow, '-m', 'elsewhere');
  assert.equal(named.stdout.trim().split('\n').length, 1, named.stdout);
  // Without the config, its modules are unknown.
  const bare = await conveyor('flow', 'validate', flow);
  assert.match(bare.stdout, /steps\.price\.subsystem: unknown module "pricing"/);
  assert.match(bare.stdout, /steps\.look\.subsystem: unknown module "acme\.lookup"/);
});

test('flow import: prints YAML, or writes it with -o; the 001 excerpt warns about the steps it only names', async () => {
  const printed = await conveyor('flow', 'import', 'examples/flows/001-settings.php', '--module', 'find-deal');
  assert.equal(printed.code, 0, printed.stderr);
  const flow = parseYaml(printed.stdout);
  assert.equal(flow.id, '001-settings');
  assert.equal(flow.steps['get-bitrix-deal'].condition[1].operation, '!|empty');
  assert.match(printed.stderr, /will not load until these are fixed \(5\)/); // find-deal was named a module
  assert.doesNotMatch(printed.stderr, /unknown module/);
  assert.match(printed.stderr, /steps\.get-bitrix-deal\.next\[0\]: unknown step "remember-deal"/);

  const out = join(dir, 'routing.yaml');
  const written = await conveyor('flow', 'import', 'examples/flows/001-deal-routing.php', '-o', out);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, '');
  assert.deepEqual(parseYaml(readFileSync(out, 'utf8')), parseYaml(readFileSync(join(root, 'examples/flows/001-deal-routing.yaml'), 'utf8')));
});

test('flow import: a PHP syntax error exits 1 with file:line:column', async () => {
  const bad = join(dir, 'bad.php');
  writeFileSync(bad, "<?php\nreturn [\n  'a' => ['subsystem' => 'set'\n  'b' => 1,\n];\n");
  const r = await conveyor('flow', 'import', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${bad.replaceAll('.', '\\.')}:4:3: syntax error`));
});
