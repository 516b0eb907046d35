// Built-in local modules: each is a LocalModule (src/flows/runtime/module.ts) run in-process.
import type { OptionProblems } from '../definition/parse.js';
import type { LocalModule } from '../runtime/module.js';
import type { FlowsSettings } from '../runtime/deps.js';
import { createBitrix24Modules, type Bitrix24ModuleDeps } from './bitrix24/index.js';
import { BITRIX24_OPTION_PROBLEMS } from './bitrix24/names.js';
import { delayModule } from './delay.js';
import { httpRequestModule } from './http-request.js';
import { setModule } from './set.js';
import { transformModule } from './transform.js';

export { delayModule, httpRequestModule, setModule, transformModule };
export { TRANSFORM_OPS } from './transform.js';
export { render } from './template.js';
export { createBitrix24Modules, BITRIX24_MODULE_NAMES, type Bitrix24ModuleDeps, type Bitrix24ModuleSettings } from './bitrix24/index.js';

export const BUILTIN_LOCAL_MODULES: readonly LocalModule[] = [setModule, transformModule, delayModule, httpRequestModule];

const BUILTIN_OPTION_CHECKS = new Map<string, (options: Readonly<Record<string, unknown>>) => string[]>([
  ...BUILTIN_LOCAL_MODULES.flatMap((m) => (m.optionProblems ? [[m.name, m.optionProblems] as const] : [])),
  ...Object.entries(BITRIX24_OPTION_PROBLEMS),
]);

/** The built-in modules' checks of a step's options, without a config (the bitrix24.* ones need no portal): for `conveyor flow validate`. */
export const builtinOptionProblems: OptionProblems = (module, options) => BUILTIN_OPTION_CHECKS.get(module)?.(options) ?? [];

/**
 * Built-in modules that need the config (the bitrix24.* family, over `flows.bitrix24`). Names that
 * `others` already provide (a plugin's own module, a test's stand-in) are left out, so those win.
 */
export function configuredLocalModules(flows: FlowsSettings, deps: Bitrix24ModuleDeps, others: readonly LocalModule[] = []): LocalModule[] {
  const taken = new Set(others.map((m) => m.name));
  return createBitrix24Modules(flows.bitrix24, deps).filter((m) => !taken.has(m.name));
}
