import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profile.js';
import type { DatabaseKind } from './databases.js';

export interface BenchOptions {
  /** Measured seconds per case. */
  durationS: number;
  /** Unmeasured seconds before each case. */
  warmupS: number;
  connections: number;
  pipelining: number;
  /** Clients seeded before the directory cases. */
  clients: number;
  /** Client changes and deal changes for the Roistat sync suite (each). */
  syncChanges: number;
  /** Seconds of registration the Roistat sync suite measures. */
  syncWindowS: number;
  databases: DatabaseKind[];
  /** Rounds over the systems of a side-by-side suite (flows-peers). */
  rounds: number;
  /** Run the hub under --cpu-prof and summarise where its time went. */
  profile: boolean;
  /** Where this run writes profiles and other artefacts. */
  outDir: string;
}

export interface CaseResult extends LoadResult {
  suite: string;
  /** e.g. "sqlite GET /clients/:id" */
  name: string;
  target: 'bare' | 'peer' | DatabaseKind;
  request: string;
  /** Mean req/s of the bare-route runs just before and just after this case. */
  baselineRps?: number;
  /** rps.mean / baselineRps */
  ratio?: number;
  profile?: ProfileSummary;
  /** Mean req/s of each round, where the suite measures in rounds (the case's other figures are its median round's). */
  roundsRps?: number[];
}

export interface GoalResult {
  name: string;
  actual: number;
  threshold: number;
  pass: boolean;
}

export interface SuiteResult {
  cases: CaseResult[];
  goals: GoalResult[];
  /** Broken cases (non-2xx answers, socket errors, timeouts): the run fails. */
  problems: string[];
  info: Record<string, unknown>;
}

export interface Suite {
  name: string;
  description: string;
  run(options: BenchOptions): Promise<SuiteResult>;
}
