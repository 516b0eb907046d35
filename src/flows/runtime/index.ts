// The flow runtime: durable runs, supervisor, dispatcher, intake, replay. The module contract is module.ts.
export type { StepCall, StepError, StepOutcome, ModuleTransport, LocalModule } from './module.js';
export { createFlowRuntime, type FlowRuntime, type FlowRuntimeOptions } from './runtime.js';
export { flowsMigration, flowsReplayIndexMigration } from './migration.js';
export { FlowLoadError, FatalRunError, readFlowDirectory, type FlowEntry, type FlowRegistry } from './registry.js';
export { StepFailure, defer, failOnBadOptions, isDeferral, localTransport, type Deferral } from './local.js';
export { createModuleDirectory, callWithDeadline, type ModuleDirectory } from './dispatch.js';
export { IntakeConflict, type Accepted } from './intake.js';
export { RUN_STATES, ENDED_STATES, type RunState, type StepState, type RunRow, type StepRow } from './store.js';
export { STEP_TASK, RELEASE_TASK, PRUNE_TASK, type FlowsSettings } from './deps.js';
export { RUN_ID_PATTERN } from './ids.js';
export { CANCEL_POLL_MS } from './cancel-broadcast.js';
export { connectRemoteModules, type TransportFactories, type TransportFactory, type RemoteModuleSettings } from './remote.js';
export type { BufferOutlook } from './buffer.js';
