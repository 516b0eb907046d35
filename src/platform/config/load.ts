import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Value } from 'typebox/value';
import { ConfigSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;
type Tree = Record<string, unknown>;

/** Environment variables that map onto config keys (the rest of the environment is ignored). */
const ENV_KEYS: Record<string, string> = {
  DATABASE_URL: 'database.url',
  HOST: 'http.host',
  PORT: 'http.port',
  LOG_LEVEL: 'log.level',
  CONVEYOR_ALLOW_DEFAULT_ADMIN_PASSWORD: 'http.allowDefaultAdminPassword',
  CONVEYOR_DEMO: 'demo.seed',
  CONVEYOR_PLUGINS: 'plugins',
  CONVEYOR_JOBS: 'jobs.enabled',
};

export interface LoadOptions {
  env?: Env;
  file?: string;
  overrides?: Tree;
  cwd?: string;
}

/** Builds the one config of a process: defaults ← file ← environment ← overrides. Frozen. */
export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const tree: Tree = {};

  const file = options.file ?? env.CONVEYOR_CONFIG ?? (existsSync(resolve(cwd, 'conveyor.yaml')) ? 'conveyor.yaml' : undefined);
  if (file) mergeInto(tree, readConfigFile(resolve(cwd, file), problems));

  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(tree, key, key === 'plugins' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : coerce(raw));
  }
  if (options.overrides) mergeInto(tree, options.overrides);

  const withDefaults = Value.Default(ConfigSchema, Value.Clone(tree)) as Tree;
  problems.push(...validate(withDefaults));
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(withDefaults as Config);
}

/** Every problem, not just the first: each section is checked on its own (a failed union stops the rest of a pass). */
function validate(tree: Tree): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(tree)) {
    if (!Object.hasOwn(ConfigSchema.properties, key)) problems.push(`${key}: unknown key`);
  }
  for (const [key, schema] of Object.entries(ConfigSchema.properties)) {
    const seen = new Set<string>();
    for (const error of Value.Errors(schema, tree[key])) {
      if (error.keyword === 'boolean') continue; // the "additionalProperties" entry already names the key
      const line = describe(`/${key}${error.instancePath}`, error.keyword === 'const' || error.keyword === 'anyOf' ? `must be one of ${allowed(schema, error.instancePath)}` : error.message, error.params);
      if (!seen.has(line)) problems.push(line);
      seen.add(line);
    }
  }
  return problems;
}

function allowed(schema: unknown, instancePath: string): string {
  let node = schema as { properties?: Record<string, unknown>; anyOf?: { const?: unknown }[] };
  for (const part of instancePath.split('/').filter(Boolean)) node = (node.properties?.[part] ?? {}) as typeof node;
  return (node.anyOf ?? []).map((s) => String(s.const)).join(', ') || 'the allowed values';
}

function readConfigFile(path: string, problems: string[]): Tree {
  if (!existsSync(path)) {
    problems.push(`config file ${path} does not exist`);
    return {};
  }
  try {
    const parsed = parseYaml(readFileSync(path, 'utf8')) as unknown;
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`config file ${path} must hold a mapping of keys`);
      return {};
    }
    return parsed as Tree;
  } catch (err) {
    problems.push(`config file ${path} is not valid YAML/JSON: ${(err as Error).message}`);
    return {};
  }
}

function describe(instancePath: string, message: string, params: unknown): string {
  const key = instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
  const extra = (params as { additionalProperties?: string[] }).additionalProperties;
  if (extra) return extra.map((k) => `${key === '(root)' ? k : `${key}.${k}`}: unknown key`).join('; ');
  return `${key}: ${message}`;
}

function coerce(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d+$/.test(raw)) return Number(raw);
  return raw;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]] = value;
}

function mergeInto(target: Tree, source: Tree): void {
  for (const [key, value] of Object.entries(source)) {
    if (value && typeof value === 'object' && !Array.isArray(value) && typeof target[key] === 'object' && target[key] !== null) {
      mergeInto(target[key] as Tree, value as Tree);
    } else {
      target[key] = value;
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
