export { ConfigSchema, type Config } from './schema.js';
export { loadConfig, ConfigError, type LoadOptions } from './load.js';
export { redactConfig } from './redact.js';
