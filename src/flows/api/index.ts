// The flows HTTP API: intake, flows, runs, replay, cancel.
export { registerFlowRoutes } from './routes.js';
export { registerFlowCallbackRoutes, type CallbackReceiver } from './callbacks.js';
export { cancelRun, loadedFlow, mustRun, replayRun, replayRuns, runDocument, runPage, STEP_PAGE } from './runs.js';
