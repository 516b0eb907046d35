import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { importPhpArrayFlow, parseFlow, parsePhpArray, PhpImportError, BUILTIN_MODULES } from '../../src/flows/index.js';

const example = (name: string) => readFileSync(new URL(`../../examples/flows/${name}`, import.meta.url), 'utf8');

function importError(text: string): PhpImportError {
  try {
    parsePhpArray(text);
  } catch (err) {
    assert.ok(err instanceof PhpImportError, String(err));
    return err;
  }
  assert.fail(`expected an import error for:\n${text}`);
}

test('the example of 001, copied verbatim, imports unchanged', () => {
  const text = example('001-settings.php');
  assert.ok(text.startsWith("'get-bitrix-deal'                             => ["), 'the file is the bare excerpt of the document');
  assert.deepEqual(importPhpArrayFlow(text, { fallbackId: '001-settings' }), {
    id: '001-settings',
    steps: {
      'get-bitrix-deal': {
        id: 'get-bitrix-deal',
        subsystem: 'find-deal',
        next: ['remember-deal'],
        prev: ['prev-step'],
        condition: [
          {
            field: 'get-bitrix-deal.value',
            operation: 'empty',
            success: [{ field: 'bitrix-find-contact.ID', operation: 'empty', result: ['bitrix-lead-set-default-values'] }],
          },
          { field: 'get-bitrix-deal.value', operation: '!|empty', result: ['get-bitrix-deal-by-id'] },
        ],
      },
    },
  });
});

test('the completed 001 settings import to exactly the YAML example, which loads', () => {
  const imported = importPhpArrayFlow(example('001-deal-routing.php'));
  assert.deepEqual(imported, parseYaml(example('001-deal-routing.yaml')));
  const { flow, problems } = parseFlow(imported, 'php', { modules: BUILTIN_MODULES });
  assert.equal(problems, undefined, JSON.stringify(problems));
  assert.equal(flow!.id, '001-deal-routing');
  assert.deepEqual(flow!.start, ['bitrix-find-contact']);
});

test('PHP notation: array(), [], quotes and escapes, numbers, constants of the language, comments, trailing commas', () => {
  const text = `<?php
  # hash comment
  /* block
     comment */
  $settings = array(
    'single' => 'it\\'s a \\\\ and a \\n',   // single quotes keep \\n as is
    "double" => "tab\\there\\nline \\u{41}\\x42 \\$x \\"q\\"",
    'ints'   => [0, 42, -7, +3, 0x1F, 0b101, 017, 1_000],
    'floats' => [1.5, -0.25, 1e3],
    'flags'  => [true, FALSE, null, NULL,],
    'list'   => [0 => 'a', 1 => 'b'],
    'sparse' => [1 => 'a', 'k' => 'b', 'c'],
    '5'      => 'numeric key',
    'empty'  => [],
  );`;
  assert.deepEqual(parsePhpArray(text), {
    5: 'numeric key',
    single: "it's a \\ and a \\n",
    double: 'tab\there\nline AB $x "q"',
    ints: [0, 42, -7, 3, 31, 5, 15, 1000],
    floats: [1.5, -0.25, 1000],
    flags: [true, false, null, null],
    list: ['a', 'b'],
    sparse: { 1: 'a', k: 'b', 2: 'c' },
    empty: [],
  });
  assert.deepEqual(parsePhpArray("<?php return ['a' => 1];"), { a: 1 });
  assert.deepEqual(parsePhpArray("['a' => 1]"), { a: 1 });
  assert.deepEqual(parsePhpArray("return ['a' => [1, 2]];"), { a: [1, 2] });
  assert.deepEqual(parsePhpArray("'a' => 1, 'b' => 2,"), { a: 1, b: 2 });
});

test('flow-level settings, and steps given as a list keyed by their ids', () => {
  const flow = importPhpArrayFlow(`return ['id' => 'orders', 'name' => 'Orders', 'intake' => ['mode' => 'rate', 'limit' => 10, 'perMs' => 60000],
    'steps' => [ ['id' => 'a', 'subsystem' => 'set', 'next' => ['b']], ['id' => 'b', 'subsystem' => 'delay'] ]];`);
  assert.deepEqual(flow, {
    id: 'orders',
    name: 'Orders',
    intake: { mode: 'rate', limit: 10, perMs: 60000 },
    steps: { a: { id: 'a', subsystem: 'set', next: ['b'] }, b: { id: 'b', subsystem: 'delay' } },
  });
  assert.equal(importPhpArrayFlow("return ['id' => 'x', 'steps' => ['a' => ['subsystem' => 'set']]];", { id: 'given' }).id, 'given');
});

test('syntax errors carry line:column, also in the bare excerpt form', () => {
  let e = importError("<?php\nreturn [\n  'a' => [1, 2 3],\n];");
  assert.equal(`${e.line}:${e.column}`, '3:16');
  assert.match(e.reason, /unexpected '3'/);
  e = importError("'a' => [1, 2 3],");
  assert.equal(`${e.line}:${e.column}`, '1:14', 'columns on line 1 of an excerpt match the file, not the wrapped code');
  e = importError("'a' => [\n  'b' => 1\n  'c' => 2,\n],");
  assert.equal(e.line, 3);
});

test('anything that is not a literal is refused at its line:column', () => {
  const cases: [string, string, RegExp][] = [
    ["return [\n  'a' => PHP_EOL,\n];", '2:10', /constant PHP_EOL/],
    ["return [\n  'a' => \"hi $name\",\n];", '2:10', /\$variables/],
    ["return [\n  'a' => strtoupper('x'),\n];", '2:10', /a call cannot be imported/],
    ["return [\n  'a' => 1,\n  'a' => 2,\n];", '3:3', /the key 'a' appears twice \(first at 2:3\)/],
    ["return [\n  'a' => 1 + 2,\n];", '2:10', /bin cannot be imported/],
    ['echo 1;', '1:1', /echo statement/],
    ["return ['steps' => ['a' => 'not an array']];", '1:20', /step 'a' is not an array of settings/],
    ["return ['steps' => [['subsystem' => 'set']]];", '1:21', /needs an 'id'/],
  ];
  for (const [text, at, pattern] of cases) {
    let error: PhpImportError | undefined;
    try {
      importPhpArrayFlow(text);
    } catch (err) {
      if (err instanceof PhpImportError) error = err;
    }
    assert.ok(error, `no error for ${text}`);
    assert.equal(`${error.line}:${error.column}`, at, `${text}: ${error.message}`);
    assert.match(error.reason, pattern);
  }
});
