import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  BUILTIN_MODULES,
  builtinOptionProblems,
  flowIdFromFileName,
  importPhpArrayFlow,
  loadFlowFile,
  parseFlow,
  PhpImportError,
  stringifyFlow,
  type LocalModule,
  type ParseOptions,
  type Problem,
} from '../flows/index.js';
import { importPlugin } from '../hub.js';
import type { Config } from '../platform/config/index.js';

export interface ModuleOptions {
  /** Extra module names (besides the built-ins and the config's) that `subsystem` may name. */
  module?: string[];
}

/**
 * The modules a flow is checked against, as the hub would check it: the built-ins, the config's remote
 * modules (flows.modules) and its plugins' flowModules (with their option checks; a plugin's module
 * takes the place of a built-in of the same name), and any named with --module.
 */
async function moduleCheck(o: ModuleOptions, config: () => Readonly<Config>): Promise<ParseOptions> {
  const { flows, plugins } = config();
  const pluginModules = new Map<string, LocalModule>();
  for (const plugin of plugins) for (const m of (await importPlugin(plugin)).flowModules ?? []) pluginModules.set(m.name, m);
  const named = (o.module ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
  return {
    modules: [...BUILTIN_MODULES, ...Object.keys(flows.modules), ...pluginModules.keys(), ...named],
    optionProblems: (module, options) => {
      const own = pluginModules.get(module);
      return own ? (own.optionProblems?.(options) ?? []) : builtinOptionProblems(module, options);
    },
  };
}

const describe = (file: string, p: Problem) => `${file}${p.line ? `:${p.line}` : ''}: ${p.path}: ${p.message}`;

/** `conveyor flow import settings.php [-o flow.yaml]`: 001 PHP-array settings → a flow file. */
export async function flowImport(file: string, o: ModuleOptions & { output?: string; id?: string; name?: string }, config: () => Readonly<Config>): Promise<void> {
  const text = await readFile(file, 'utf8');
  let definition: Record<string, unknown>;
  try {
    definition = importPhpArrayFlow(text, { id: o.id, name: o.name, fallbackId: flowIdFromFileName(file) });
  } catch (err) {
    if (!(err instanceof PhpImportError)) throw err;
    console.error(`${file}:${err.line}:${err.column}: ${err.reason}`);
    process.exitCode = 1;
    return;
  }
  const yaml = stringifyFlow(definition);
  if (o.output) await writeFile(o.output, yaml);
  else process.stdout.write(yaml);

  // The conversion stands on its own; whether the result would load is worth saying right away.
  const checked = parseFlow(definition, file, await moduleCheck(o, config));
  if (checked.problems) {
    console.error(`imported, but the flow will not load until these are fixed (${checked.problems.length}):`);
    for (const p of checked.problems) console.error(`  ${p.path}: ${p.message}`);
  } else if (o.output) {
    console.error(`${o.output}: flow ${definition.id} with ${checked.flow.steps.size} steps`);
  }
}

/** `conveyor flow validate a.yaml b.json c.php`: exit 1 listing every problem of every file. */
export async function flowValidate(files: string[], o: ModuleOptions, config: () => Readonly<Config>): Promise<void> {
  const check = await moduleCheck(o, config);
  let failed = 0;
  for (const file of files) {
    const result = await loadFlowFile(file, check);
    if (result.problems) {
      failed++;
      for (const p of result.problems) console.log(describe(file, p));
    } else {
      console.log(`${file}: ok (flow ${result.flow.id} v${result.flow.version}, ${result.flow.steps.size} steps)`);
    }
  }
  if (failed > 0) {
    console.error(`${failed} of ${files.length} flow file(s) have problems`);
    process.exitCode = 1;
  }
}

/** The `flow` command group; flows are checked offline against the config's modules, no database needed. */
export function registerFlowCommands(program: Command, config: () => Readonly<Config>): void {
  const flow = program.command('flow').description('flow files: import the PHP-array settings of 001, validate');
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  flow
    .command('import <file>')
    .description('convert PHP-array settings (as in 001) into a YAML flow file')
    .option('-o, --output <file>', 'write the YAML here instead of printing it')
    .option('--id <id>', 'flow id (default: the settings\' id, else the file name)')
    .option('--name <name>', 'flow name')
    .option('-m, --module <names>', 'module names besides the built-ins, for the check after import (repeatable, comma-separated)', collect)
    .action(async (file: string, o: ModuleOptions & { output?: string; id?: string; name?: string }) => flowImport(file, o, config));
  flow
    .command('validate <files...>')
    .description('check flow files (YAML, JSON or PHP settings); exit 1 listing every problem')
    .option('-m, --module <names>', 'module names besides the built-ins and the config\'s remote and plugin modules (repeatable, comma-separated)', collect)
    .action(async (files: string[], o: ModuleOptions) => flowValidate(files, o, config));
}
