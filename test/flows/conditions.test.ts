import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRoute, getPath, parseFlow, type Flow } from '../../src/flows/index.js';

/** A flow whose step `s` routes by the given conditions; targets a, b, c, fallback exist. */
function stepWith(condition: unknown[], next: string[] = ['fallback']) {
  const result = parseFlow(
    {
      id: 'f',
      start: ['s', 'a', 'b', 'c', 'fallback'], // every target reachable whatever the route
      steps: {
        s: { subsystem: 'set', next, condition },
        a: { subsystem: 'set' },
        b: { subsystem: 'set' },
        c: { subsystem: 'set' },
        fallback: { subsystem: 'set' },
      },
    },
    'test',
  );
  assert.equal(result.problems, undefined, JSON.stringify(result.problems));
  return (result.flow as Flow).steps.get('s')!;
}

/** Route of a single `field: s.v` condition for a given value of s.v. */
function routeFor(operation: string, value: unknown, actual: unknown): string[] {
  const cond = value === undefined ? { field: 's.v', operation, result: ['a'] } : { field: 's.v', operation, value, result: ['a'] };
  return evaluateRoute(stepWith([cond]), { s: actual === undefined ? {} : { v: actual } });
}
const holds = (operation: string, value: unknown, actual: unknown) => routeFor(operation, value, actual)[0] === 'a';

test('getPath follows objects and list indexes, and never the prototype', () => {
  const ctx = { a: { b: [{ c: 1 }, { c: 2 }] }, n: null };
  assert.equal(getPath(ctx, 'a.b.1.c'), 2);
  assert.equal(getPath(ctx, 'a.b.0'), ctx.a.b[0]);
  assert.equal(getPath(ctx, 'a.b.2.c'), undefined);
  assert.equal(getPath(ctx, 'a.b.x'), undefined);
  assert.equal(getPath(ctx, 'n.x'), undefined);
  assert.equal(getPath(ctx, 'a.constructor'), undefined);
  assert.equal(getPath(ctx, 'a.__proto__'), undefined);
});

test('empty follows PHP empty(); exists means present and not null', () => {
  for (const v of [undefined, null, '', '0', 0, false, [], {}]) assert.equal(holds('empty', undefined, v), true, `empty(${JSON.stringify(v)})`);
  for (const v of ['x', ' ', 1, -1, true, [0], { a: 1 }, '0.0']) assert.equal(holds('empty', undefined, v), false, `empty(${JSON.stringify(v)})`);
  assert.equal(holds('exists', undefined, 0), true);
  assert.equal(holds('exists', undefined, ''), true);
  assert.equal(holds('exists', undefined, null), false);
  assert.equal(holds('exists', undefined, undefined), false);
});

test('equals and in: a number equals its string spelling, missing equals null, lists compare deeply', () => {
  assert.equal(holds('equals', 42, '42'), true);
  assert.equal(holds('equals', '42', 42), true);
  assert.equal(holds('equals', 42, '42x'), false);
  assert.equal(holds('equals', 'NEW', 'NEW'), true);
  assert.equal(holds('equals', 'NEW', 'new'), false);
  assert.equal(holds('equals', true, 'true'), false);
  assert.equal(holds('equals', null, undefined), true);
  assert.equal(holds('equals', [1, { a: 2 }], [1, { a: 2 }]), true);
  assert.equal(holds('equals', [1, { a: 2 }], [1, { a: 3 }]), false);
  assert.equal(holds('in', ['wholesale', 7], 'wholesale'), true);
  assert.equal(holds('in', ['wholesale', 7], '7'), true);
  assert.equal(holds('in', ['wholesale', 7], 'retail'), false);
});

test('comparisons: numerically for numbers and numeric strings, as text for other strings', () => {
  assert.equal(holds('gt', 10, 11), true);
  assert.equal(holds('gt', 10, 10), false);
  assert.equal(holds('gte', 10, '10'), true);
  assert.equal(holds('lt', '10', '9'), true); // as numbers, not as text ('10' < '9')
  assert.equal(holds('lte', 10, 10.5), false);
  assert.equal(holds('lt', '2025-01-01', '2024-12-31'), true);
  assert.equal(holds('gt', 10, 'abc'), false);
  assert.equal(holds('gt', 10, undefined), false);
  assert.equal(holds('gt', 10, null), false);
});

test('contains looks into strings and lists; regex accepts /pattern/flags', () => {
  assert.equal(holds('contains', 'VIP', 'client VIP gold'), true);
  assert.equal(holds('contains', 'vip', 'client VIP gold'), false);
  assert.equal(holds('contains', 3, [1, '3']), true);
  assert.equal(holds('contains', 4, [1, '3']), false);
  assert.equal(holds('contains', 'a', { a: 1 }), false);
  assert.equal(holds('regex', '^\\+7\\d{10}$', '+79991234567'), true);
  assert.equal(holds('regex', '^\\+7\\d{10}$', '89991234567'), false);
  assert.equal(holds('regex', '/^deal-/i', 'DEAL-15'), true);
  assert.equal(holds('regex', '^\\d+$', 123), true);
  assert.equal(holds('regex', '.*', undefined), false);
});

test('!| negates every operation', () => {
  assert.equal(holds('!|empty', undefined, ''), false);
  assert.equal(holds('!|empty', undefined, 'x'), true);
  assert.equal(holds('!|exists', undefined, undefined), true);
  assert.equal(holds('!|equals', 'NEW', 'NEW'), false);
  assert.equal(holds('!|equals', 'NEW', 'WON'), true);
  assert.equal(holds('!|in', [1, 2], 3), true);
  assert.equal(holds('!|gt', 5, 6), false);
  assert.equal(holds('!|gte', 5, 4), true);
  assert.equal(holds('!|lt', 5, 4), false);
  assert.equal(holds('!|lte', 5, 6), true);
  assert.equal(holds('!|contains', 'x', 'abc'), true);
  assert.equal(holds('!|regex', '^a', 'abc'), false);
});

test('the 001 route: nested success, then result; next when no condition gives a route', () => {
  const step = stepWith(
    [
      { field: 's.value', operation: 'empty', success: [{ field: 'c.ID', operation: 'empty', result: ['a'] }] },
      { field: 's.value', operation: '!|empty', result: ['b'] },
    ],
    ['c'],
  );
  assert.deepEqual(evaluateRoute(step, { s: { value: null }, c: {} }), ['a']); // no deal, no contact → lead
  assert.deepEqual(evaluateRoute(step, { s: { value: { ID: '5' } }, c: {} }), ['b']); // deal found → load it
  assert.deepEqual(evaluateRoute(step, { s: { value: null }, c: { ID: '7' } }), ['c']); // no deal, contact → next
});

test('first condition with a route wins; a holding condition falls back to its own result; [] ends the branch', () => {
  const step = stepWith([
    { field: 's.n', operation: 'gt', value: 10, success: [{ field: 's.vip', operation: 'equals', value: true, result: ['a', 'b'] }], result: ['c'] },
    { field: 's.n', operation: 'gt', value: 0, result: ['b'] },
    { field: 's.n', operation: 'equals', value: 0, result: [] },
  ]);
  assert.deepEqual(evaluateRoute(step, { s: { n: 11, vip: true } }), ['a', 'b']); // parallel branches
  assert.deepEqual(evaluateRoute(step, { s: { n: 11, vip: false } }), ['c']);
  assert.deepEqual(evaluateRoute(step, { s: { n: 5 } }), ['b']);
  assert.deepEqual(evaluateRoute(step, { s: { n: 0 } }), []);
  assert.deepEqual(evaluateRoute(step, { s: { n: -1 } }), ['fallback']);
});

test('a holding condition with only a success list that gives no route lets later conditions try', () => {
  const step = stepWith([
    { field: 's.a', operation: 'exists', success: [{ field: 's.b', operation: 'exists', result: ['a'] }] },
    { field: 's.a', operation: 'exists', result: ['b'] },
  ]);
  assert.deepEqual(evaluateRoute(step, { s: { a: 1, b: 1 } }), ['a']);
  assert.deepEqual(evaluateRoute(step, { s: { a: 1 } }), ['b']);
  assert.deepEqual(evaluateRoute(step, { s: {} }), ['fallback']);
});

test('the returned route is a copy: changing it does not change the flow', () => {
  const step = stepWith([], ['a', 'b']);
  evaluateRoute(step, {}).push('c');
  assert.deepEqual(evaluateRoute(step, {}), ['a', 'b']);
});
