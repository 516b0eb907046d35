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
  type Problem,
} from '../flows/index.js';

export interface ModuleOptions {
  /** Extra module names (besides the built-ins) that `subsystem` may name. */
  module?: string[];
}

function knownModules(o: ModuleOptions): string[] {
  return [...BUILTIN_MODULES, ...(o.module ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean)];
}

const describe = (file: string, p: Problem) => `${file}${p.line ? `:${p.line}` : ''}: ${p.path}: ${p.message}`;

/** `conveyor flow import settings.php [-o flow.yaml]`: 001 PHP-array settings → a flow file. */
export async function flowImport(file: string, o: ModuleOptions & { output?: string; id?: string; name?: string }): Promise<void> {
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
  const checked = parseFlow(definition, file, { modules: knownModules(o), optionProblems: builtinOptionProblems });
  if (checked.problems) {
    console.error(`imported, but the flow will not load until these are fixed (${checked.problems.length}):`);
    for (const p of checked.problems) console.error(`  ${p.path}: ${p.message}`);
  } else if (o.output) {
    console.error(`${o.output}: flow ${definition.id} with ${checked.flow.steps.size} steps`);
  }
}

/** `conveyor flow validate a.yaml b.json c.php`: exit 1 listing every problem of every file. */
export async function flowValidate(files: string[], o: ModuleOptions): Promise<void> {
  const modules = knownModules(o);
  let failed = 0;
  for (const file of files) {
    const result = await loadFlowFile(file, { modules, optionProblems: builtinOptionProblems });
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

/** The `flow` command group; flows are checked offline, no database needed. */
export function registerFlowCommands(program: Command): void {
  const flow = program.command('flow').description('flow files: import the PHP-array settings of 001, validate');
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  flow
    .command('import <file>')
    .description('convert PHP-array settings (as in 001) into a YAML flow file')
    .option('-o, --output <file>', 'write the YAML here instead of printing it')
    .option('--id <id>', 'flow id (default: the settings\' id, else the file name)')
    .option('--name <name>', 'flow name')
    .option('-m, --module <names>', 'module names besides the built-ins, for the check after import (repeatable, comma-separated)', collect)
    .action(async (file: string, o: ModuleOptions & { output?: string; id?: string; name?: string }) => flowImport(file, o));
  flow
    .command('validate <files...>')
    .description('check flow files (YAML, JSON or PHP settings); exit 1 listing every problem')
    .option('-m, --module <names>', 'module names besides the built-ins (repeatable, comma-separated)', collect)
    .action(async (files: string[], o: ModuleOptions) => flowValidate(files, o));
}
