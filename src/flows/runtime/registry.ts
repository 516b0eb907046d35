import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Clock } from '../../platform/clock.js';
import type { Db, SqlDialect } from '../../platform/db/index.js';
import { loadFlowFile } from '../definition/load.js';
import { parseFlow, type ParseOptions } from '../definition/parse.js';
import type { Flow } from '../definition/flow.js';
import { canonicalJson, sha256 } from './json.js';
import { findVersionByHash, insertNextVersion, readLatestVersions, readVersionDefinition } from './store.js';

const FLOW_EXTENSIONS = new Set(['.yaml', '.yml', '.json', '.php']);

/** A loaded flow and the stored version it is (the hub's revision number: 1, 2, … per distinct content). */
export interface FlowEntry {
  flow: Flow;
  version: number;
}

export class FlowLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`flows could not be loaded (${problems.length} problem${problems.length === 1 ? '' : 's'}); the hub does not start with a broken flow:\n  ${problems.join('\n  ')}`);
    this.name = 'FlowLoadError';
  }
}

/**
 * Reads every flow file of `dir` and checks each against the modules that exist (`check`: their names
 * and their checks of step options). All or nothing: any problem in any file (or two files with one
 * flow id) throws, listing every problem with file and line.
 */
export async function readFlowDirectory(dir: string, check: ParseOptions): Promise<Flow[]> {
  const root = resolve(dir);
  if (!existsSync(root)) return [];
  if (!statSync(root).isDirectory()) throw new FlowLoadError([`${dir}: flows.dir is not a folder`]);
  const files = readdirSync(root)
    .filter((name) => FLOW_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort();
  const problems: string[] = [];
  const flows: Flow[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const file = join(root, name);
    const result = await loadFlowFile(file, check);
    if (result.problems) {
      for (const p of result.problems) problems.push(`${join(dir, name)}${p.line ? `:${p.line}` : ''}: ${p.path}: ${p.message}`);
      continue;
    }
    const other = seen.get(result.flow.id);
    if (other) problems.push(`${join(dir, name)}: flow id "${result.flow.id}" is also the id of ${other}`);
    seen.set(result.flow.id, join(dir, name));
    flows.push(result.flow);
  }
  if (problems.length > 0) throw new FlowLoadError(problems);
  return flows;
}

export interface FlowRegistry {
  /** The current version of a flow, or undefined. */
  get(flowId: string): FlowEntry | undefined;
  list(): FlowEntry[];
  /** The flow a run started on: the current one or an earlier stored version (parsed once, cached). */
  forRun(flowId: string, version: number): Promise<Flow>;
}

/**
 * Records each loaded flow as a version: unchanged content keeps its version number, changed content
 * gets the next one. Runs record the version, so a run started before a change finishes on its own.
 */
export async function createFlowRegistry(deps: { db: Db; dialect: SqlDialect; clock: Clock; modules: readonly string[] }, flows: Flow[]): Promise<FlowRegistry> {
  const current = new Map<string, FlowEntry>();
  for (const flow of flows) current.set(flow.id, { flow, version: await storeVersion(deps, flow) });
  return registryOf(deps, current);
}

/**
 * For a command-line process: the flows as the hubs registered them (the latest stored version of
 * each), not as the files read now, and nothing written. A file being edited or broken does not stop
 * `conveyor runs list`, and a replay runs on the version the hubs run. A stored version that no
 * longer parses (a module since removed) is left out and reported in `problems`.
 */
export async function createStoredFlowRegistry(deps: { db: Db; modules: readonly string[] }): Promise<{ registry: FlowRegistry; problems: string[] }> {
  const current = new Map<string, FlowEntry>();
  const problems: string[] = [];
  for (const { flowId, version, definition } of await readLatestVersions(deps.db)) {
    const parsed = parseStoredVersion(deps.modules, flowId, version, definition);
    if ('problem' in parsed) problems.push(parsed.problem);
    else current.set(flowId, { flow: parsed.flow, version });
  }
  return { registry: registryOf(deps, current), problems };
}

function registryOf(deps: { db: Db; modules: readonly string[] }, current: Map<string, FlowEntry>): FlowRegistry {
  const older = new Map<string, Promise<Flow>>();
  return {
    get: (id) => current.get(id),
    list: () => [...current.values()],
    forRun(flowId, version) {
      const entry = current.get(flowId);
      if (entry && entry.version === version) return Promise.resolve(entry.flow);
      const key = `${flowId}@${version}`;
      let found = older.get(key);
      if (!found) {
        found = loadStoredVersion(deps, flowId, version);
        older.set(key, found);
        found.catch(() => older.delete(key));
      }
      return found;
    },
  };
}

async function storeVersion(deps: { db: Db; dialect: SqlDialect; clock: Clock }, flow: Flow): Promise<number> {
  const definition = canonicalJson(flow.definition);
  const hash = sha256(definition);
  for (let tries = 0; ; tries++) {
    const known = await findVersionByHash(deps.db, flow.id, hash);
    if (known !== undefined) return known;
    try {
      return await insertNextVersion(deps.db, { flowId: flow.id, hash, definition, source: flow.source, now: deps.clock.now() });
    } catch (err) {
      // Another process loading the same files at the same moment took the number: look again.
      if (!deps.dialect.isUniqueViolation(err) || tries >= 3) throw err;
    }
  }
}

async function loadStoredVersion(deps: { db: Db; modules: readonly string[] }, flowId: string, version: number): Promise<Flow> {
  const text = await readVersionDefinition(deps.db, flowId, version);
  if (text === undefined) throw new FatalRunError(`flow ${flowId} version ${version} is not stored`);
  const parsed = parseStoredVersion(deps.modules, flowId, version, text);
  if ('problem' in parsed) throw new FatalRunError(parsed.problem);
  return parsed.flow;
}

function parseStoredVersion(modules: readonly string[], flowId: string, version: number, text: string): { flow: Flow } | { problem: string } {
  const result = parseFlow(JSON.parse(text), `${flowId}@v${version}`, { modules });
  if (!result.problems) return { flow: result.flow };
  return { problem: `flow ${flowId} version ${version} no longer loads: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}` };
}

/** A run that can never go on (its flow version is gone or broken): it is marked dead at once, not retried. */
export class FatalRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatalRunError';
  }
}
