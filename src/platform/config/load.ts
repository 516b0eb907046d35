import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
// The one rule set that spans keys of the Roistat plugin lives with the plugin's settings.
// A leaf file (types-only imports), imported directly so config loading does not pull in the whole sync module.
import { checkRoistatConfig } from '../../sync/targets/roistat/settings.js';
import { ConfigSchema, type Config } from './schema.js';
import { entriesOfMapping, isPlainObject, namedSections, treeOfEntries, type KeyEntry } from './dotted-keys.js';
import { entriesOfProperties } from './properties-file.js';
import { convertToSchema } from './convert.js';
import { validateTree, withDefaults } from './validate.js';

/** The schema's records (`flows.modules`, `scheduler.task`, …): their keys are names, dots included. */
const NAMED_SECTIONS = namedSections(ConfigSchema);

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
  ROISTAT_API_KEY: 'plugin.roistat.apiKey',
  ROISTAT_BASE_URL: 'plugin.roistat.baseUrl',
};

export interface LoadOptions {
  env?: Env;
  /** YAML or JSON; a name ending in .properties is read as Java properties (BGERP's format). */
  file?: string;
  overrides?: Tree;
  cwd?: string;
}

/** Builds the one config of a process: defaults ← file ← environment ← overrides. Frozen. */
export function loadConfig(options: LoadOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  let tree: Tree = {};
  let where = new Map<string, string>(); // dotted key → file:line, for problems about keys from a properties file
  let clashes: string[] = [];

  const file = options.file ?? env.CONVEYOR_CONFIG ?? (existsSync(resolve(cwd, 'conveyor.yaml')) ? 'conveyor.yaml' : undefined);
  if (file) {
    const read = readConfigFile(resolve(cwd, file));
    const built = treeOfEntries(read.entries);
    problems.push(...read.problems, ...built.problems);
    tree = built.tree;
    where = built.where;
    clashes = built.clashes;
  }

  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(tree, key, key === 'plugins' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : raw);
    where.delete(key);
  }
  if (options.overrides) mergeInto(tree, options.overrides);

  // Strings (from properties files and the environment) become the types the schema asks for.
  const complete = withDefaults(ConfigSchema, convertToSchema(ConfigSchema, tree)) as Tree;
  const found = [...validateTree(ConfigSchema, complete), ...checkRoistatConfig(complete)];
  const underClash = (problem: string) => clashes.some((key) => problem.startsWith(`${key}: `) || problem.startsWith(`${key}.`));
  problems.push(...found.filter((problem) => !underClash(problem)).map((problem) => locate(problem, where)));
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(complete as Config);
}

/** "key: message" gains "(file:line)" when the key came from a properties file. */
function locate(problem: string, where: Map<string, string>): string {
  const at = where.get(problem.slice(0, problem.indexOf(': ')));
  return at ? `${problem} (${at})` : problem;
}

function readConfigFile(path: string): { entries: KeyEntry[]; problems: string[] } {
  if (!existsSync(path)) return { entries: [], problems: [`config file ${path} does not exist`] };
  const text = readFileSync(path, 'utf8');
  if (path.toLowerCase().endsWith('.properties')) return entriesOfProperties(text, path);
  let parsed: unknown;
  try {
    parsed = parseYaml(text) as unknown;
  } catch (err) {
    return { entries: [], problems: [`config file ${path} is not valid YAML/JSON: ${(err as Error).message}`] };
  }
  if (parsed === null || parsed === undefined) return { entries: [], problems: [] };
  if (!isPlainObject(parsed)) return { entries: [], problems: [`config file ${path} must hold a mapping of keys`] };
  return { entries: entriesOfMapping(parsed, NAMED_SECTIONS), problems: [] };
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[parts[parts.length - 1]] = value;
}

function mergeInto(target: Tree, source: Tree): void {
  for (const [key, value] of Object.entries(source)) {
    if (isPlainObject(value) && isPlainObject(target[key])) mergeInto(target[key] as Tree, value);
    else target[key] = value;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
