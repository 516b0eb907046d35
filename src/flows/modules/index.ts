// Built-in local modules: each is a LocalModule (src/flows/runtime/module.ts) run in-process.
import type { LocalModule } from '../runtime/module.js';
import { delayModule } from './delay.js';
import { httpRequestModule } from './http-request.js';
import { setModule } from './set.js';
import { transformModule } from './transform.js';

export { delayModule, httpRequestModule, setModule, transformModule };
export { TRANSFORM_OPS } from './transform.js';
export { render } from './template.js';

export const BUILTIN_LOCAL_MODULES: readonly LocalModule[] = [setModule, transformModule, delayModule, httpRequestModule];
