import { localTransport } from './local.js';
import type { LocalModule, ModuleTransport, StepCall, StepOutcome } from './module.js';
import type { RunCancel } from './deps.js';

/**
 * The dispatcher's map of how to reach each module: local modules in-process, remote ones through
 * the transport configured for them (`flows.modules.<name>.transport`). A name is one or the other.
 */
export interface ModuleDirectory {
  transportFor(module: string): ModuleTransport | undefined;
  /** A step calling the module with these options changes nothing outside Conveyor (LocalModule.safe, `flows.modules.<name>.safe`). */
  isSafe(module: string, options?: Readonly<Record<string, unknown>>): boolean;
  /** Every module name a flow may use as `subsystem`. */
  names(): string[];
  /** What is wrong with a step's options for a local module (LocalModule.optionProblems); nothing for a remote one. */
  optionProblems(module: string, options: Readonly<Record<string, unknown>>): readonly string[];
  close(): Promise<void>;
}

export function createModuleDirectory(local: readonly LocalModule[], remote: ReadonlyMap<string, ModuleTransport> = new Map(), safeRemote: ReadonlySet<string> = new Set()): ModuleDirectory {
  const transports = new Map<string, ModuleTransport>();
  for (const module of local) {
    if (transports.has(module.name)) throw new Error(`flow module "${module.name}" is registered twice`);
    transports.set(module.name, localTransport(module));
  }
  for (const [name, transport] of remote) {
    if (transports.has(name)) throw new Error(`flow module "${name}" is both a local module and configured under flows.modules`);
    transports.set(name, transport);
  }
  return {
    transportFor: (module) => transports.get(module),
    isSafe(module, options = {}) {
      const safe = transports.get(module)?.safe;
      if (typeof safe === 'function') return safe(options);
      return safe === true || (remote.has(module) && safeRemote.has(module));
    },
    names: () => [...transports.keys()],
    optionProblems: (module, options) => local.find((m) => m.name === module)?.optionProblems?.(options) ?? [],
    async close() {
      await Promise.allSettled([...remote.values()].map((t) => t.close?.()));
    },
  };
}

/** What a call that takes no signal is given: nothing it does can look at it. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * One call with a deadline. The transport gets an AbortSignal that fires at the deadline or when the
 * run is cancelled (one that takes no signal gets one that never fires); whatever it does, an answer
 * after the deadline is not waited for, nor one after a cancel.
 */
export async function callWithDeadline(transport: ModuleTransport, call: StepCall, cancel: RunCancel): Promise<StepOutcome> {
  // Cancelled already: the module is not called at all.
  if (cancel.aborted) return runCancelled();
  if (transport.keepsDeadline) {
    let outcome: StepOutcome;
    try {
      outcome = await transport.call(call, cancel.signal);
    } catch (err) {
      outcome = unreachable(err);
    }
    return cancel.aborted && !outcome.ok ? runCancelled() : outcome;
  }
  const controller = transport.takesSignal === false ? undefined : new AbortController();
  const timeoutMs = Math.max(0, call.deadline - Date.now());
  let answer: StepOutcome | Promise<StepOutcome>;
  try {
    answer = transport.call(call, controller?.signal ?? NEVER_ABORTED);
  } catch (err) {
    return unreachable(err);
  }
  // Answered at once (a local module that computes): no deadline left to keep, no cancel to hear.
  if (!(answer instanceof Promise)) return answer;
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  const late = new Promise<StepOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller?.abort(new Error('deadline'));
      resolve({ ok: false, error: { code: 'MODULE_TIMEOUT', message: `module ${call.module} did not answer within ${timeoutMs} ms`, retryable: true } });
    }, timeoutMs);
    onCancel = () => {
      controller?.abort(new Error('cancelled'));
      resolve(runCancelled());
    };
    // Removed after the call: the run's signal is shared by every step of the activation.
    cancel.signal.addEventListener('abort', onCancel, { once: true });
  });
  try {
    return await Promise.race([answer.catch(unreachable), late]);
  } finally {
    clearTimeout(timer);
    cancel.signal.removeEventListener('abort', onCancel!);
  }
}

const unreachable = (err: unknown): StepOutcome => ({ ok: false, error: { code: 'MODULE_UNREACHABLE', message: err instanceof Error ? err.message : String(err), retryable: true } });
const runCancelled = (): StepOutcome => ({ ok: false, error: { code: 'RUN_CANCELLED', message: 'the run was cancelled', retryable: false } });
