// Flows: definitions (YAML/JSON files, API objects, 001 PHP-array import), validation and routing.
export { FlowDefinitionSchema, ConditionSchema, StepSchema, IntakeSchema, RetrySchema, INTAKE_MODES } from './definition/schema.js';
export type { FlowDefinition, StepDefinition, ConditionDefinition, IntakePolicy, RetryPolicy } from './definition/schema.js';
export type { Flow, FlowStep } from './definition/flow.js';
export type { Problem } from './definition/problems.js';
export { parseFlow, type OptionProblems, type ParseOptions, type ParseResult } from './definition/parse.js';
export { loadFlowFile, parseFlowText, flowIdFromFileName } from './definition/load.js';
export { importPhpArrayFlow, parsePhpArray, PhpImportError, type PhpImportOptions } from './definition/php-import.js';
export { stringifyFlow } from './definition/format.js';
export { BUILTIN_MODULES, moduleMatcher } from './definition/modules.js';
export { evaluateRoute, type RoutableStep } from './conditions/evaluate.js';
export { getPath } from './conditions/path.js';
export { REQUEST_ROOT, type CompiledCondition } from './conditions/compile.js';
export { OPERATION_NAMES, NEGATION_PREFIX, MAX_REGEX_LENGTH } from './conditions/operations.js';
// Running flows: durable runs, supervisor, dispatcher, intake, replay (src/flows/runtime), built-in modules, the API.
export {
  createFlowRuntime,
  flowsMigration,
  flowsReplayIndexMigration,
  FlowLoadError,
  StepFailure,
  defer,
  failOnBadOptions,
  localTransport,
  connectRemoteModules,
  STEP_TASK,
  type FlowRuntime,
  type FlowRuntimeOptions,
  type LocalModule,
  type ModuleTransport,
  type StepCall,
  type StepError,
  type StepOutcome,
  type TransportFactories,
  type RunState,
  RUN_STATES,
  CANCEL_POLL_MS,
} from './runtime/index.js';
export { BUILTIN_LOCAL_MODULES, builtinOptionProblems, TRANSFORM_OPS, configuredLocalModules, createBitrix24Modules, BITRIX24_MODULE_NAMES } from './modules/index.js';
export { registerFlowRoutes, registerFlowCallbackRoutes, type CallbackReceiver } from './api/index.js';
export { cancelRun, replayRun, replayRuns, runDocument, runPage, STEP_PAGE } from './api/index.js';
export { createHttpTransport, createNatsTransport, createRabbitTransport, serveNatsModule, serveRabbitModule } from './transports/index.js';
