import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_MODULES, evaluateRoute, flowIdFromFileName, loadFlowFile } from '../../src/flows/index.js';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-flows-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('loads a YAML flow and routes with it', async () => {
  const path = file(
    'routing.yaml',
    `id: routing
steps:
  find:
    subsystem: bitrix24.find-deal
    condition:
      - field: find.value
        operation: "!|empty"
        result: [load]
    next: [lead]
  load: { subsystem: bitrix24.get-deal }
  lead: { subsystem: set }
`,
  );
  const { flow, problems } = await loadFlowFile(path, { modules: BUILTIN_MODULES });
  assert.equal(problems, undefined, JSON.stringify(problems));
  const find = flow!.steps.get('find')!;
  assert.deepEqual(evaluateRoute(find, { find: { value: { ID: '1' } } }), ['load']);
  assert.deepEqual(evaluateRoute(find, { find: { value: [] } }), ['lead']);
  assert.equal(flow!.source, path);
});

test('loads the same flow from JSON', async () => {
  const path = file('routing.json', JSON.stringify({ id: 'j', version: 3, steps: { a: { subsystem: 'set', next: ['b'] }, b: { subsystem: 'set' } } }));
  const { flow } = await loadFlowFile(path);
  assert.equal(flow!.version, 3);
  assert.deepEqual([...flow!.steps.keys()], ['a', 'b']);
});

test('problems point at the line of the offending key, in file order', async () => {
  const path = file(
    'bad.yaml',
    `id: bad
steps:
  a:
    subsystem: set
    next: [b, ghost]
    condition:
      - field: a.x
        operation: isEmpty
        result: [b]
  b:
    subsystem: set
    tmeout: 5
`,
  );
  const { problems } = await loadFlowFile(path);
  assert.deepEqual(
    problems!.map((p) => [p.line, p.path]),
    [
      [5, 'steps.a.next[1]'],
      [8, 'steps.a.condition[0].operation'],
      [12, 'steps.b.tmeout'],
    ],
  );
});

test('YAML syntax errors and duplicate keys are reported with their line; a missing file is a problem too', async () => {
  let { problems } = await loadFlowFile(file('syntax.yaml', 'id: x\nsteps:\n  a: [unclosed\n'));
  assert.equal(problems![0].path, '(file)');
  assert.match(problems![0].message, /not valid YAML/);
  assert.ok(problems![0].line! >= 3);
  ({ problems } = await loadFlowFile(file('dup.yaml', 'id: x\nsteps:\n  a: { subsystem: set }\n  a: { subsystem: set }\n')));
  assert.equal(problems![0].line, 4);
  ({ problems } = await loadFlowFile(join(dir, 'missing.yaml')));
  assert.match(problems![0].message, /cannot read/);
});

test('PHP settings load through the importer; their syntax errors keep line:column', async () => {
  const ok = await loadFlowFile(file('settings.php', "<?php return ['a' => ['subsystem' => 'set']];"));
  assert.equal(ok.flow!.id, 'settings');
  const bad = await loadFlowFile(file('broken.php', "<?php\nreturn ['a' => ['subsystem' => 'set' 'x']];"));
  assert.equal(bad.problems![0].line, 2);
  assert.match(bad.problems![0].message, /^2:\d+: /);
});

test('flow ids from file names', () => {
  assert.equal(flowIdFromFileName('/x/settings/001-deal.flow.yaml'), '001-deal');
  assert.equal(flowIdFromFileName('My Settings.php'), 'My-Settings');
});
