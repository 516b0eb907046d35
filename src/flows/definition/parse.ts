import { Value } from 'typebox/value';
import { checkContextPath, compileConditions, REQUEST_ROOT, type CompileScope, type CompiledCondition } from '../conditions/compile.js';
import type { Flow, FlowStep } from './flow.js';
import { checkGraph } from './graph.js';
import { checkIntake } from './intake.js';
import { moduleMatcher } from './modules.js';
import { formatPath, pointerToParts, type PathPart, type Problem } from './problems.js';
import { FlowDefinitionSchema, type FlowDefinition, type IntakePolicy } from './schema.js';

export interface ParseOptions {
  /** Module names a `subsystem` may name (`bitrix24.*` admits a family). Absent: modules are not checked. */
  modules?: Iterable<string>;
  /**
   * What is wrong with a step's options for its module (LocalModule.optionProblems); reported at the
   * step's `options`. Absent, or empty for a module (a remote one), options are left to the module.
   */
  optionProblems?: OptionProblems;
}

export type OptionProblems = (module: string, options: Readonly<Record<string, unknown>>) => readonly string[];

export type ParseResult = { flow: Flow; problems?: undefined } | { flow?: undefined; problems: Problem[] };

/** Ids end up in URLs and context paths, so no dots, slashes or spaces. */
const ID_PATTERN = /^[\p{L}\p{N}_][\p{L}\p{N}_-]*$/u;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks a flow definition (parsed YAML/JSON or an API body) and compiles it. Every problem is
 * returned at once, each with its path; a flow with any problem is never returned half-loaded.
 */
export function parseFlow(given: unknown, source: string, options: ParseOptions = {}): ParseResult {
  if (!isObject(given)) return { problems: [{ path: '(root)', message: 'a flow must be a mapping with id and steps' }] };
  // Our own copy: the loaded flow must not change when the caller later changes its object.
  let input: Record<string, unknown>;
  try {
    input = structuredClone(given);
  } catch {
    return { problems: [{ path: '(root)', message: 'a flow must be plain data (no functions or class instances)' }] };
  }
  const problems: Problem[] = schemaProblems(FlowDefinitionSchema as SchemaNode, input);
  const rawSteps = isObject(input.steps) ? input.steps : {};
  const scope: CompileScope = { stepIds: new Set(Object.keys(rawSteps)), problems };
  const refs = (value: unknown, at: PathPart[]) => stepRefs(value, at, scope);

  if (typeof input.id === 'string' && input.id !== '' && !ID_PATTERN.test(input.id)) {
    problems.push({ path: 'id', message: `"${input.id}" may use letters, digits, _ and - only` });
  }
  if (isObject(input.steps) && scope.stepIds.size === 0) problems.push({ path: 'steps', message: 'a flow needs at least one step' });
  const start = input.start === undefined ? [...scope.stepIds].slice(0, 1) : refs(input.start, ['start']);
  if (Array.isArray(input.start) && input.start.length === 0) problems.push({ path: 'start', message: 'must name at least one step' });
  const flowOnError = refs(input.onError, ['onError'])[0];
  if (isObject(input.intake)) problems.push(...checkIntake(input.intake));

  const isModule = options.modules ? moduleMatcher(options.modules) : undefined;
  const steps = new Map<string, FlowStep>();
  for (const [id, raw] of Object.entries(rawSteps)) {
    if (isObject(raw)) steps.set(id, buildStep(id, raw, scope, { isModule, optionProblems: options.optionProblems }, flowOnError));
  }
  problems.push(...checkGraph(steps, start, flowOnError));

  if (problems.length > 0) return { problems: dedupe(problems) };
  const definition = input as FlowDefinition;
  return {
    flow: {
      id: definition.id,
      version: definition.version ?? 1,
      name: definition.name ?? definition.id,
      description: definition.description,
      start,
      intake: (definition.intake ?? { mode: 'immediate' }) as IntakePolicy,
      onError: flowOnError,
      steps,
      definition: { ...definition, version: definition.version ?? 1, start },
      source,
    },
  };
}

function buildStep(
  id: string,
  raw: Record<string, unknown>,
  scope: CompileScope,
  { isModule, optionProblems }: { isModule?: (name: string) => boolean; optionProblems?: OptionProblems },
  flowOnError: string | undefined,
): FlowStep {
  const at = ['steps', id];
  const problem = (where: PathPart[], message: string) => scope.problems.push({ path: formatPath(where), message });
  if (!ID_PATTERN.test(id)) problem(at, `step id "${id}" may use letters, digits, _ and - only (a dot would break context paths)`);
  if (id === REQUEST_ROOT) problem(at, `"${REQUEST_ROOT}" is reserved: the run context keeps the intake body under it`);
  if (raw.id !== undefined && raw.id !== id) problem([...at, 'id'], `must equal the step's key "${id}"`);
  if (typeof raw.subsystem === 'string' && raw.subsystem !== '' && isModule && !isModule(raw.subsystem)) {
    problem([...at, 'subsystem'], `unknown module "${raw.subsystem}"`);
  } else if (typeof raw.subsystem === 'string' && optionProblems && (raw.options === undefined || isObject(raw.options))) {
    for (const message of optionProblems(raw.subsystem, raw.options ?? {})) problem([...at, 'options'], `${raw.subsystem}: ${message}`);
  }
  // Checked in the order a step is usually written, so problems read top to bottom.
  const next = stepRefs(raw.next, [...at, 'next'], scope);
  const prev = stepRefs(raw.prev, [...at, 'prev'], scope);
  const route: CompiledCondition[] = raw.condition === undefined ? [] : compileConditions(raw.condition, [...at, 'condition'], scope);
  if (isObject(raw.input)) {
    for (const [key, path] of Object.entries(raw.input)) checkContextPath(path, [...at, 'input', key], scope);
  }
  return {
    id,
    subsystem: String(raw.subsystem),
    next,
    prev,
    route,
    input: raw.input as FlowStep['input'],
    options: raw.options as FlowStep['options'],
    retry: raw.retry as FlowStep['retry'],
    timeoutMs: raw.timeoutMs as number | undefined,
    onError: stepRefs(raw.onError, [...at, 'onError'], scope)[0] ?? flowOnError,
  };
}

/** Step ids named in a list (or a single string field); unknown ones are problems. Shape is the schema's job. */
function stepRefs(value: unknown, at: PathPart[], scope: CompileScope): string[] {
  if (value === undefined) return [];
  const single = typeof value === 'string';
  const items = single ? [value] : Array.isArray(value) ? value : [];
  const ids: string[] = [];
  items.forEach((id, index) => {
    if (typeof id !== 'string') return;
    if (!scope.stepIds.has(id)) scope.problems.push({ path: formatPath(single ? at : [...at, index]), message: `unknown step "${id}"` });
    ids.push(id);
  });
  return ids;
}

type SchemaNode = {
  type?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean;
};

/**
 * Shape problems from the schema, phrased for people. Objects are walked key by key so that one bad
 * key never hides the problems of its siblings. Conditions are checked by their compiler instead.
 */
function schemaProblems(schema: SchemaNode, value: unknown, parts: PathPart[] = [], out: Problem[] = []): Problem[] {
  if (parts[0] === 'steps' && parts[2] === 'condition') return out;
  if (schema.type === 'object' && isObject(value) && (schema.properties || schema.patternProperties)) {
    const properties = schema.properties ?? {};
    const each = schema.patternProperties ? Object.values(schema.patternProperties)[0] : undefined;
    for (const key of schema.required ?? []) {
      if (!Object.hasOwn(value, key)) out.push({ path: formatPath([...parts, key]), message: 'is required' });
    }
    for (const [key, child] of Object.entries(value)) {
      const childSchema = Object.hasOwn(properties, key) ? properties[key] : each;
      if (childSchema) schemaProblems(childSchema, child, [...parts, key], out);
      else if (schema.additionalProperties === false) {
        out.push({ path: formatPath([...parts, key]), message: `unknown key; allowed: ${Object.keys(properties).join(', ')}` });
      }
    }
    return out;
  }
  for (const error of Value.Errors(schema as never, value)) {
    if (error.keyword === 'boolean') continue;
    const at = formatPath([...parts, ...pointerToParts(error.instancePath)]);
    const params = error.params as { allowedValues?: unknown[] };
    out.push({ path: at, message: params.allowedValues ? `must be one of ${params.allowedValues.join(', ')}` : error.message });
  }
  return out;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
