import type { CompiledCondition } from '../conditions/compile.js';
import type { FlowDefinition, IntakePolicy, RetryPolicy } from './schema.js';

/** A step as the supervisor uses it: lists filled in, conditions compiled. */
export interface FlowStep {
  readonly id: string;
  readonly subsystem: string;
  readonly next: readonly string[];
  readonly prev: readonly string[];
  readonly route: readonly CompiledCondition[];
  readonly input?: Readonly<Record<string, string>>;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  /** This step's error route, or the flow's. */
  readonly onError?: string;
}

/** A flow that passed validation. `definition` is the plain form with defaults applied (store/serve it). */
export interface Flow {
  readonly id: string;
  readonly version: number;
  readonly name: string;
  readonly description?: string;
  readonly start: readonly string[];
  readonly intake: IntakePolicy;
  readonly onError?: string;
  /** In the order the file lists them. */
  readonly steps: ReadonlyMap<string, FlowStep>;
  readonly definition: FlowDefinition;
  /** Where it came from: a file path, `api`, … */
  readonly source: string;
}
