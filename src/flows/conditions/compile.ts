import { formatPath, type PathPart, type Problem } from '../definition/problems.js';
import { NEGATION_PREFIX, OPERATION_NAMES, OPERATIONS, type Predicate } from './operations.js';
import { splitPath } from './path.js';

/** A condition ready to run: path split, operation resolved, regex compiled — once, at load. */
export interface CompiledCondition {
  readonly field: string;
  readonly path: readonly string[];
  readonly operation: string;
  readonly negate: boolean;
  readonly test: Predicate;
  readonly success: readonly CompiledCondition[];
  readonly result?: readonly string[];
}

/** The context key the supervisor puts the intake body under; every other root is a step id. */
export const REQUEST_ROOT = 'request';

const CONDITION_KEYS = ['field', 'operation', 'value', 'success', 'result'];

export interface CompileScope {
  stepIds: ReadonlySet<string>;
  problems: Problem[];
}

/** Checks and compiles a `condition` (or `success`) list; every problem is reported, bad items are dropped. */
export function compileConditions(items: unknown, at: readonly PathPart[], scope: CompileScope): CompiledCondition[] {
  if (!Array.isArray(items)) {
    scope.problems.push({ path: formatPath(at), message: 'must be a list of conditions' });
    return [];
  }
  const out: CompiledCondition[] = [];
  items.forEach((item, index) => {
    const compiled = compileOne(item, [...at, index], scope);
    if (compiled) out.push(compiled);
  });
  return out;
}

function compileOne(item: unknown, at: readonly PathPart[], scope: CompileScope): CompiledCondition | undefined {
  const problem = (where: readonly PathPart[], message: string) => scope.problems.push({ path: formatPath(where), message });
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    problem(at, 'must be a mapping with field and operation');
    return undefined;
  }
  const raw = item as Record<string, unknown>;
  const before = scope.problems.length;
  for (const key of Object.keys(raw)) {
    if (!CONDITION_KEYS.includes(key)) problem([...at, key], `unknown key; a condition has ${CONDITION_KEYS.join(', ')}`);
  }

  const field = checkContextPath(raw.field, [...at, 'field'], scope);
  const op = resolveOperation(raw.operation, [...at, 'operation'], scope);
  let test: Predicate | undefined;
  if (op) {
    const spec = OPERATIONS[op.name];
    if (spec.takesValue && raw.value === undefined) problem([...at, 'value'], `operation ${op.name} needs a value`);
    else if (!spec.takesValue && raw.value !== undefined) problem([...at, 'value'], `operation ${op.name} takes no value`);
    else {
      const compiled = spec.compile(raw.value);
      if (typeof compiled === 'string') problem([...at, 'value'], compiled);
      else test = compiled;
    }
  }
  const success = raw.success === undefined ? [] : compileConditions(raw.success, [...at, 'success'], scope);
  const result = raw.result === undefined ? undefined : checkStepList(raw.result, [...at, 'result'], scope);
  if (raw.success === undefined && raw.result === undefined) problem(at, 'leads nowhere: give it a result (step ids, or [] to end the branch) or a success list');

  if (scope.problems.length > before || !field || !op || !test) return undefined;
  return { field, path: splitPath(field), operation: raw.operation as string, negate: op.negate, test, success, result };
}

export function checkContextPath(field: unknown, at: readonly PathPart[], scope: CompileScope): string | undefined {
  const problem = (message: string) => scope.problems.push({ path: formatPath(at), message });
  if (field === undefined) return void problem('missing field: the dot path of the value to test, e.g. get-bitrix-deal.value');
  if (typeof field !== 'string' || field === '') return void problem('must be a non-empty dot path, e.g. get-bitrix-deal.value');
  const parts = splitPath(field);
  if (parts.some((p) => p === '')) return void problem(`"${field}" has an empty segment`);
  if (parts[0] !== REQUEST_ROOT && !scope.stepIds.has(parts[0])) {
    return void problem(`"${field}" starts with "${parts[0]}", which is neither a step of this flow nor "${REQUEST_ROOT}"`);
  }
  return field;
}

function resolveOperation(operation: unknown, at: readonly PathPart[], scope: CompileScope): { name: string; negate: boolean } | undefined {
  const problem = (message: string) => scope.problems.push({ path: formatPath(at), message });
  if (operation === undefined) return void problem(`missing operation: one of ${OPERATION_NAMES.join(', ')}`);
  if (typeof operation !== 'string') return void problem('must be a string');
  const negate = operation.startsWith(NEGATION_PREFIX);
  const name = negate ? operation.slice(NEGATION_PREFIX.length) : operation;
  if (!Object.hasOwn(OPERATIONS, name)) {
    return void problem(`unknown operation "${operation}": use one of ${OPERATION_NAMES.join(', ')}, with ${NEGATION_PREFIX} in front to negate (${NEGATION_PREFIX}empty)`);
  }
  return { name, negate };
}

/** A list of step ids that must all exist. */
export function checkStepList(value: unknown, at: readonly PathPart[], scope: CompileScope): string[] {
  if (!Array.isArray(value)) {
    scope.problems.push({ path: formatPath(at), message: 'must be a list of step ids' });
    return [];
  }
  value.forEach((id, index) => checkStepId(id, [...at, index], scope));
  return value.filter((id): id is string => typeof id === 'string');
}

export function checkStepId(id: unknown, at: readonly PathPart[], scope: CompileScope): void {
  if (typeof id !== 'string') scope.problems.push({ path: formatPath(at), message: 'must be a step id (a string)' });
  else if (!scope.stepIds.has(id)) scope.problems.push({ path: formatPath(at), message: `unknown step "${id}"` });
}
