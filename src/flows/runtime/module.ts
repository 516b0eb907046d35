/**
 * The one contract between the flow supervisor and a module, whatever carries it (in-process, HTTP,
 * NATS JetStream, RabbitMQ). A module never calls another module: it gets one step's input and
 * answers with that step's output or an error; the supervisor decides what runs next.
 */

export interface StepCall {
  runId: string;
  flowId: string;
  flowVersion: number;
  stepId: string;
  /** The step's `subsystem`. */
  module: string;
  /** 1 for the first try of this step in this run. */
  attempt: number;
  /**
   * The same for every attempt of this step in this run (`<runId>:<stepId>`), and after a replay from a
   * later step. Modules use it to make side effects idempotent (e.g. Bitrix24 ORIGIN_ID).
   */
  idempotencyKey: string;
  /** The step's input: the step's `input` mapping applied to the run context, or the whole context. */
  input: unknown;
  /** The step's `options`, passed through unchanged. */
  options: Record<string, unknown>;
  /** Epoch ms by which an answer must arrive; later answers are ignored. */
  deadline: number;
}

export interface StepError {
  /** Stable code, e.g. MODULE_TIMEOUT, MODULE_BAD_ANSWER, MODULE_HTTP_503, or the module's own. */
  code: string;
  message: string;
  /** Worth trying again (timeouts, 5xx, broker trouble) or not (bad input, 4xx). */
  retryable: boolean;
}

export type StepOutcome = { ok: true; output: unknown } | { ok: false; error: StepError };

/** How the dispatcher reaches one module. */
export interface ModuleTransport {
  readonly kind: 'local' | 'http' | 'queue';
  /**
   * False when the call never looks at its signal (a local module whose run() declares no `signal`
   * parameter): the dispatcher then spares the call its own AbortController, passes a signal that
   * never fires, and enforces the deadline and a cancel by not waiting past them.
   */
  readonly takesSignal?: boolean;
  /**
   * call() settles by itself at call.deadline and when its signal fires, and never rejects (the broker
   * transports' publishAndAwait): the dispatcher passes the run's cancel signal and adds no timer or
   * AbortController of its own.
   */
  readonly keepsDeadline?: boolean;
  /** Calling the module changes nothing outside Conveyor (see LocalModule.safe). */
  readonly safe?: Safety;
  /** An outcome known at once may come back as it is (a local module that computes): no promise to wait for. */
  call(call: StepCall, signal: AbortSignal): StepOutcome | Promise<StepOutcome>;
  close?(): Promise<void>;
}

/** Whether calls change nothing outside Conveyor: always, or for the steps whose options it accepts. */
export type Safety = boolean | ((options: Readonly<Record<string, unknown>>) => boolean);

/** An in-process module: a TypeScript object implementing this is all a local module needs. */
export interface LocalModule {
  /** e.g. `set`, `http-request`, `bitrix24.find-deal`. */
  name: string;
  /**
   * Calling it changes nothing outside Conveyor: a lookup or a pure transform, like an HTTP GET. A
   * request that waits for its run (?wait) may call such steps before the run is first written
   * (flows.safeStepsFirst): if the process dies meanwhile, the request was never accepted and nothing
   * happened that a retry would repeat. Leave it unset for anything that writes, sends or charges.
   * A function decides per step, from the step's options (http-request: a GET or HEAD whose flow
   * step says `safe: true`).
   */
  safe?: Safety;
  /**
   * What is wrong with a step's options, found without running it (each a sentence; none: fine). Flow
   * validation reports these at load and in `conveyor flow validate`, at the step's `options`, so a
   * mistake there never reaches a run. run() should fail BAD_OPTIONS with the same (failOnBadOptions).
   */
  optionProblems?(options: Readonly<Record<string, unknown>>): string[];
  /** Declare `signal` (the third parameter) to have it fire at the step's deadline as well as on cancel. */
  run(input: unknown, call: StepCall, signal: AbortSignal): Promise<unknown> | unknown;
}
