import type { Config } from './schema.js';

/** A copy of the config that is safe to print: passwords in URLs and API keys are masked. */
export function redactConfig(config: Readonly<Config>): Config {
  const copy = structuredClone(config) as Config;
  copy.database.url = copy.database.url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
  if (copy.plugin.roistat.apiKey !== '') copy.plugin.roistat.apiKey = '***';
  return copy;
}
