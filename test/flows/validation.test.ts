import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_MODULES, builtinOptionProblems, FlowDefinitionSchema, MAX_REGEX_LENGTH, parseFlow, type Problem } from '../../src/flows/index.js';

function problemsOf(definition: unknown, modules?: Iterable<string>): Problem[] {
  const result = parseFlow(definition, 'test', { modules });
  assert.equal(result.flow, undefined, 'a flow with problems must not load');
  return result.problems!;
}
const messagesAt = (problems: Problem[], path: string) => problems.filter((p) => p.path === path).map((p) => p.message);
function assertProblem(problems: Problem[], path: string, pattern: RegExp) {
  assert.ok(
    messagesAt(problems, path).some((m) => pattern.test(m)),
    `expected a problem at ${path} matching ${pattern}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`,
  );
}

test('a minimal flow loads with defaults: version 1, name = id, first step starts, immediate intake', () => {
  const { flow, problems } = parseFlow({ id: 'hello', steps: { first: { subsystem: 'set', next: ['second'] }, second: { subsystem: 'delay' } } }, 'x.yaml', {
    modules: BUILTIN_MODULES,
  });
  assert.equal(problems, undefined);
  assert.equal(flow!.version, 1);
  assert.equal(flow!.name, 'hello');
  assert.deepEqual(flow!.start, ['first']);
  assert.deepEqual(flow!.intake, { mode: 'immediate' });
  assert.deepEqual([...flow!.steps.keys()], ['first', 'second']);
  assert.deepEqual(flow!.definition.start, ['first']);
  assert.equal(flow!.source, 'x.yaml');
});

test('the flow keeps its own copy of the definition', () => {
  const input = { id: 'f', steps: { a: { subsystem: 'set', options: { x: 1 } } } };
  const { flow } = parseFlow(input, 'api');
  input.steps.a.options.x = 2;
  assert.deepEqual(flow!.definition.steps.a.options, { x: 1 });
  assert.deepEqual(flow!.steps.get('a')!.options, { x: 1 });
});

test('shape problems: unknown keys (with the allowed ones), wrong types, missing keys, bad enum — all at once', () => {
  const problems = problemsOf({
    id: 'f',
    version: 1.5,
    colour: 'red',
    intake: { mode: 'sometimes' },
    steps: { a: { subsystm: 'set', timeoutMs: -1, retry: { attempts: 0, backoffMs: 10, jitter: true } } },
  });
  assertProblem(problems, 'version', /integer/);
  assertProblem(problems, 'colour', /unknown key; allowed: id, version, name/);
  assertProblem(problems, 'intake.mode', /one of immediate, rate, batch, cron/);
  assertProblem(problems, 'steps.a.subsystm', /unknown key; allowed: id, subsystem, next/);
  assertProblem(problems, 'steps.a.subsystem', /required/);
  assertProblem(problems, 'steps.a.timeoutMs', /1/);
  assertProblem(problems, 'steps.a.retry.attempts', /1/);
  assertProblem(problems, 'steps.a.retry.jitter', /unknown key; allowed: attempts, backoffMs/);
});

test('not a mapping, no steps, no id', () => {
  assertProblem(problemsOf([1, 2]), '(root)', /mapping/);
  assertProblem(problemsOf({ id: 'f', steps: {} }), 'steps', /at least one step/);
  const p = problemsOf({ steps: { a: { subsystem: 'set' } } });
  assertProblem(p, 'id', /required/);
});

test('unknown steps in next, prev, result, onError and start, each at its path', () => {
  const problems = problemsOf({
    id: 'f',
    start: ['a', 'nope-start'],
    onError: 'nope-flow-error',
    steps: {
      a: {
        subsystem: 'set',
        next: ['b', 'nope-next'],
        prev: ['nope-prev'],
        onError: 'nope-error',
        condition: [{ field: 'a.x', operation: 'empty', success: [{ field: 'a.y', operation: 'empty', result: ['nope-result'] }] }],
      },
      b: { subsystem: 'set' },
    },
  });
  assertProblem(problems, 'start[1]', /unknown step "nope-start"/);
  assertProblem(problems, 'onError', /unknown step "nope-flow-error"/);
  assertProblem(problems, 'steps.a.next[1]', /unknown step "nope-next"/);
  assertProblem(problems, 'steps.a.prev[0]', /unknown step "nope-prev"/);
  assertProblem(problems, 'steps.a.onError', /unknown step "nope-error"/);
  assertProblem(problems, 'steps.a.condition[0].success[0].result[0]', /unknown step "nope-result"/);
  assert.equal(problems.length, 6, problems.map((p) => p.path).join(', '));
});

test('ids: key and id must agree; no dots; "request" is reserved', () => {
  const problems = problemsOf({
    id: 'bad id',
    steps: { a: { id: 'b', subsystem: 'set', next: ['x.y', 'request'] }, 'x.y': { subsystem: 'set' }, request: { subsystem: 'set' } },
  });
  assertProblem(problems, 'id', /letters, digits/);
  assertProblem(problems, 'steps.a.id', /must equal the step's key "a"/);
  assertProblem(problems, 'steps.x.y', /letters, digits/);
  assertProblem(problems, 'steps.request', /reserved/);
});

test('unknown modules against the set given, with family wildcards', () => {
  const definition = { id: 'f', steps: { a: { subsystem: 'bitrix24.find-deal', next: ['b'] }, b: { subsystem: 'find-deal', next: ['c'] }, c: { subsystem: 'bitrix24.', next: ['d'] }, d: { subsystem: 'bitrix24.add-contact' } } };
  const problems = problemsOf(definition, BUILTIN_MODULES);
  assert.deepEqual(messagesAt(problems, 'steps.a.subsystem'), []);
  assertProblem(problems, 'steps.b.subsystem', /unknown module "find-deal"/);
  assertProblem(problems, 'steps.c.subsystem', /unknown module "bitrix24\."/);
  assertProblem(problems, 'steps.d.subsystem', /unknown module "bitrix24\.add-contact"/); // the built-ins are the real modules, not a family
  assert.ok(parseFlow({ id: 'g', steps: { a: { subsystem: 'acme.anything' } } }, 'test', { modules: ['acme.*'] }).flow, 'a family wildcard admits its members');
  assert.ok(parseFlow(definition, 'test', { modules: [...BUILTIN_MODULES, 'find-deal', 'bitrix24.', 'bitrix24.add-contact'] }).flow);
  assert.ok(parseFlow(definition, 'test').flow, 'without a module set, modules are not checked');
});

test('malformed conditions: unknown operation, missing field/operation, value rules, bad regex, unknown root, dead ends', () => {
  const cond = (c: object) => ({ result: ['b'], ...c });
  const problems = problemsOf({
    id: 'f',
    steps: {
      a: {
        subsystem: 'set',
        next: ['b'],
        condition: [
          cond({ field: 'a.x', operation: 'isEmpty' }),
          cond({ operation: 'empty' }),
          cond({ field: 'a.x' }),
          cond({ field: 'a.x', operation: 'gt' }),
          cond({ field: 'a.x', operation: 'empty', value: 1 }),
          cond({ field: 'a.x', operation: 'in', value: 'x' }),
          cond({ field: 'a.x', operation: '!|regex', value: '([a-z' }),
          cond({ field: 'a.x', operation: 'regex', value: 'a'.repeat(MAX_REGEX_LENGTH + 1) }),
          cond({ field: 'a.x', operation: 'regex', value: '/x/g' }),
          cond({ field: 'nobody.x', operation: 'empty' }),
          cond({ field: 'a..x', operation: 'empty' }),
          { field: 'a.x', operation: 'empty' },
          cond({ field: 'a.x', operation: 'empty', sucess: [] }),
          cond({ field: 'a.x', operation: 'gt', value: { n: 1 } }),
          'empty',
        ],
      },
      b: { subsystem: 'set' },
    },
  });
  const at = (i: number, rest = '') => `steps.a.condition[${i}]${rest}`;
  assertProblem(problems, at(0, '.operation'), /unknown operation "isEmpty": use one of empty, exists, equals.*!\|/);
  assertProblem(problems, at(1, '.field'), /missing field/);
  assertProblem(problems, at(2, '.operation'), /missing operation/);
  assertProblem(problems, at(3, '.value'), /gt needs a value/);
  assertProblem(problems, at(4, '.value'), /empty takes no value/);
  assertProblem(problems, at(5, '.value'), /must be a list/);
  assertProblem(problems, at(6, '.value'), /invalid regular expression/);
  assertProblem(problems, at(7, '.value'), new RegExp(`longer than ${MAX_REGEX_LENGTH}`));
  assertProblem(problems, at(8, '.value'), /flag\(s\) g/);
  assertProblem(problems, at(9, '.field'), /"nobody", which is neither a step of this flow nor "request"/);
  assertProblem(problems, at(10, '.field'), /empty segment/);
  assertProblem(problems, at(11), /leads nowhere/);
  assertProblem(problems, at(12, '.sucess'), /unknown key/);
  assertProblem(problems, at(13, '.value'), /number or a string/);
  assertProblem(problems, at(14), /must be a mapping/);
  assert.equal(problems.length, 15, problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
});

test('input paths must start at a step or at request', () => {
  const problems = problemsOf({ id: 'f', steps: { a: { subsystem: 'set', input: { ok: 'request.phone', alsoOk: 'a.x', bad: 'phone' } } } });
  assert.deepEqual(
    problems.map((p) => p.path),
    ['steps.a.input.bad'],
  );
});

test('unreachable steps are reported; error routes and explicit starts make steps reachable', () => {
  const problems = problemsOf({
    id: 'f',
    steps: { a: { subsystem: 'set', next: ['b'] }, b: { subsystem: 'set' }, orphan: { subsystem: 'set', next: ['orphan-child'] }, 'orphan-child': { subsystem: 'set' } },
  });
  assert.deepEqual(
    problems.map((p) => [p.path, /unreachable/.test(p.message)]),
    [
      ['steps.orphan', true],
      ['steps.orphan-child', true],
    ],
  );
  assert.ok(parseFlow({ id: 'f', onError: 'alarm', steps: { a: { subsystem: 'set', onError: 'retry-later' }, 'retry-later': { subsystem: 'set' }, alarm: { subsystem: 'set' } } }, 't').flow);
  assert.ok(parseFlow({ id: 'f', start: ['a', 'b'], steps: { a: { subsystem: 'set' }, b: { subsystem: 'set' } } }, 't').flow);
});

test('a loop that no route leaves is a problem; a condition leading out or ending the branch makes it fine', () => {
  const loop = (extra: object = {}) => ({
    id: 'f',
    steps: {
      start: { subsystem: 'set', next: ['poll'] },
      poll: { subsystem: 'bitrix24.get-deal', next: ['wait'], ...extra },
      wait: { subsystem: 'delay', next: ['poll'], onError: 'done' },
      done: { subsystem: 'set' },
    },
  });
  assertProblem(problemsOf(loop()), 'steps.poll', /steps poll, wait form a loop that no route leaves/);
  // Conditions whose results stay inside the loop do not help.
  assertProblem(problemsOf(loop({ condition: [{ field: 'poll.x', operation: 'empty', result: ['wait'] }] })), 'steps.poll', /loop/);
  // Parallel routes that keep one branch inside the loop do not help either.
  assertProblem(problemsOf(loop({ condition: [{ field: 'poll.x', operation: 'empty', result: ['wait', 'done'] }] })), 'steps.poll', /loop/);
  assert.ok(parseFlow(loop({ condition: [{ field: 'poll.STAGE', operation: 'equals', value: 'WON', result: ['done'] }] }), 't').flow);
  assert.ok(parseFlow(loop({ condition: [{ field: 'poll.STAGE', operation: 'equals', value: 'WON', result: [] }] }), 't').flow);
  // A step that loops on itself.
  assertProblem(problemsOf({ id: 'f', steps: { a: { subsystem: 'set', next: ['a'] } } }), 'steps.a', /step a form a loop/);
});

test('intake: each mode needs its keys, keys of other modes are refused, cron patterns are checked', () => {
  const intake = (i: object) => problemsOf({ id: 'f', intake: i, steps: { a: { subsystem: 'set', next: ['missing'] } } });
  let p = intake({ mode: 'rate', limit: 10, size: 5 });
  assertProblem(p, 'intake.perMs', /needs perMs/);
  assertProblem(p, 'intake.size', /mode batch only/);
  p = intake({ mode: 'batch' });
  assertProblem(p, 'intake', /needs size.*everyMs/);
  p = intake({ mode: 'cron', cron: '61 * * * *' });
  assertProblem(p, 'intake.cron', /invalid schedule/);
  p = intake({ mode: 'cron', cron: '0 9 * * 1-5', timezone: 'Mars/Base' });
  assertProblem(p, 'intake.timezone', /time zone/i);
  p = intake({ mode: 'cron' });
  assertProblem(p, 'intake.cron', /needs cron/);
  for (const ok of [{ mode: 'rate', limit: 10, perMs: 60000 }, { mode: 'batch', size: 10 }, { mode: 'batch', everyMs: 1000 }, { mode: 'cron', cron: '*/5 * * * *', timezone: 'Europe/Moscow' }, { mode: 'immediate' }]) {
    assert.ok(parseFlow({ id: 'f', intake: ok, steps: { a: { subsystem: 'set' } } }, 't').flow, JSON.stringify(ok));
  }
});

test('the schema is plain JSON Schema, so the API can publish it', () => {
  const json = JSON.parse(JSON.stringify(FlowDefinitionSchema));
  assert.deepEqual(json.required, ['id', 'steps']);
  assert.match(JSON.stringify(json), /"\$ref":"Condition"/);
});

test('step options are checked by their module at load: every problem at the step\'s options, nothing for modules without checks', () => {
  const steps = {
    post: { subsystem: 'http-request', options: { url: 'https://crm.example/hook', method: 'POST', safe: true }, next: ['relative'] },
    relative: { subsystem: 'http-request', options: { url: '/deals', method: 'FETCH', retries: 2 }, next: ['pause'] },
    pause: { subsystem: 'delay', next: ['shape'] },
    shape: { subsystem: 'transform', options: { fields: { a: { from: 'request.a', ops: ['eval'] }, b: 7 } }, next: ['fill'] },
    fill: { subsystem: 'set', options: { values: [1], merge: 'yes' }, next: ['deal'] },
    deal: { subsystem: 'bitrix24.find-deal', options: { order: { ID: 'down' }, limit: 5 }, next: ['lead'] },
    lead: { subsystem: 'bitrix24.add-lead', options: { fields: 'TITLE' }, next: ['plugin'] },
    plugin: { subsystem: 'acme.anything', options: { whatever: true } },
  };
  const result = parseFlow({ id: 'o', steps }, 'test', { modules: [...BUILTIN_MODULES, 'acme.*'], optionProblems: builtinOptionProblems });
  assert.equal(result.flow, undefined);
  const p = result.problems!;
  assertProblem(p, 'steps.post.options', /^http-request: options\.safe is for GET and HEAD only: a POST changes things/);
  assertProblem(p, 'steps.relative.options', /^http-request: options\.url must be an http\(s\) URL, not "\/deals"/);
  assertProblem(p, 'steps.relative.options', /options\.method must be one of GET, POST/);
  assertProblem(p, 'steps.relative.options', /unknown option "retries"/);
  assertProblem(p, 'steps.pause.options', /^delay: options\.ms must be an integer/);
  assertProblem(p, 'steps.shape.options', /fields\.a\.ops: unknown operation "eval"/);
  assertProblem(p, 'steps.shape.options', /fields\.b: must be a path/);
  assertProblem(p, 'steps.fill.options', /options\.values must be a mapping/);
  assertProblem(p, 'steps.fill.options', /options\.merge must be true or false/);
  assertProblem(p, 'steps.deal.options', /options\.order must map fields to ASC or DESC/);
  assertProblem(p, 'steps.deal.options', /unknown option "limit"/);
  assertProblem(p, 'steps.lead.options', /^bitrix24\.add-lead: options\.fields must be a mapping of lead fields/);
  assert.deepEqual(messagesAt(p, 'steps.plugin.options'), [], 'a module without checks takes its options as they are');
  assert.equal(p.length, 12, p.map((x) => `${x.path}: ${x.message}`).join('\n'));

  // Right options load; a URL with placeholders is checked once filled in, when the step runs.
  const fine = {
    get: { subsystem: 'http-request', options: { url: '{{ request.hook }}', safe: true }, next: ['pause'] },
    pause: { subsystem: 'delay', options: { ms: 1000 }, next: ['shape'] },
    shape: { subsystem: 'transform', options: { fields: { phone: { from: 'request.phone', ops: ['phone'] } }, merge: true }, next: ['deal'] },
    deal: { subsystem: 'bitrix24.find-deal', options: { order: { DATE_CREATE: 'ASC' }, select: ['ID'] } },
  };
  const loaded = parseFlow({ id: 'o', steps: fine }, 'test', { modules: BUILTIN_MODULES, optionProblems: builtinOptionProblems });
  assert.equal(loaded.problems, undefined, JSON.stringify(loaded.problems));
});
