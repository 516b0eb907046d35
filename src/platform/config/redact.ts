import type { Config } from './schema.js';

/** A copy of the config that is safe to print: passwords in URLs and API keys are masked. */
export function redactConfig(config: Readonly<Config>): Config {
  const copy = structuredClone(config) as Config;
  const maskPassword = (url: string) => url.replace(/\/\/([^:/@]+):([^@]*)@/g, '//$1:***@');
  copy.database.url = maskPassword(copy.database.url);
  if (copy.plugin.roistat.apiKey !== '') copy.plugin.roistat.apiKey = '***';
  const bitrix24 = copy.flows.bitrix24;
  // The portal stays visible for debugging; the user id and secret of the webhook path do not.
  if (bitrix24?.webhookUrl !== undefined) bitrix24.webhookUrl = URL.canParse(bitrix24.webhookUrl) ? `${new URL(bitrix24.webhookUrl).origin}/rest/***` : '***';
  if (bitrix24?.accessToken !== undefined) bitrix24.accessToken = '***';
  // Remote flow modules: the HMAC secret, and credentials inside broker URLs (amqp://user:pass@…).
  for (const module of Object.values(copy.flows.modules)) {
    if (module.secret !== undefined) module.secret = '***';
    if (module.url !== undefined) module.url = maskPassword(module.url);
    if (module.servers !== undefined) module.servers = maskPassword(module.servers);
  }
  return copy;
}
