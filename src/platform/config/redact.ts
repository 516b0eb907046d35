import type { Config } from './schema.js';

/** A copy of the config that is safe to print: passwords in URLs and API keys are masked. */
export function redactConfig(config: Readonly<Config>): Config {
  const copy = structuredClone(config) as Config;
  copy.database.url = copy.database.url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
  if (copy.plugin.roistat.apiKey !== '') copy.plugin.roistat.apiKey = '***';
  const bitrix24 = copy.flows.bitrix24;
  // The portal stays visible for debugging; the user id and secret of the webhook path do not.
  if (bitrix24?.webhookUrl !== undefined) bitrix24.webhookUrl = URL.canParse(bitrix24.webhookUrl) ? `${new URL(bitrix24.webhookUrl).origin}/rest/***` : '***';
  if (bitrix24?.accessToken !== undefined) bitrix24.accessToken = '***';
  return copy;
}
