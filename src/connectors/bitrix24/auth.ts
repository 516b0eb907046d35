import { Bitrix24ConfigError } from './errors.js';

/**
 * Either an inbound webhook (`https://<portal>/rest/<user id>/<secret>/`, reference §1.1) or an OAuth
 * access token for `https://<portal>/rest/` (§1.2). `refreshAccessToken`, when given, is called once
 * after a 401 `expired_token` and the call is repeated, as the OAuth docs prescribe.
 */
export type Bitrix24Auth =
  | { webhookUrl: string }
  | { portalUrl: string; accessToken: string; refreshAccessToken?: () => Promise<string> };

export interface ResolvedAuth {
  /** `https://portal.bitrix24.ru`: safe to log, and the key a rate limiter is shared by. */
  portal: string;
  /** Where `<method>.json` is appended. Contains the webhook secret: never log it. */
  endpoint: string;
  kind: 'webhook' | 'oauth';
  /** OAuth token to put in the body as `auth`; undefined for webhooks. */
  token(): string | undefined;
  /** Swaps in a fresh OAuth token; false when no refresher is configured. */
  refresh(): Promise<boolean>;
  /** Replaces every secret in a text (error reasons may quote a URL). */
  redact(text: string): string;
}

const WEBHOOK_PATH = /^\/rest\/(\d+)\/([^/]+)\/?$/;

export function resolveAuth(auth: Bitrix24Auth): ResolvedAuth {
  if ('webhookUrl' in auth) {
    const raw = typeof auth.webhookUrl === 'string' ? auth.webhookUrl.trim() : '';
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    const match = url && /^https?:$/.test(url.protocol) ? WEBHOOK_PATH.exec(url.pathname) : null;
    if (!url || !match || url.search || url.hash) {
      // Only the origin goes into the message: the rest of a webhook URL is the secret.
      const shown = url && /^https?:$/.test(url.protocol) ? `${url.origin}/…` : 'a value that is not an http(s) URL';
      throw new Bitrix24ConfigError(
        `Bitrix24 webhook URL must look like https://<portal>/rest/<user id>/<secret>/ (got ${shown})`,
      );
    }
    const secret = match[2];
    return {
      portal: url.origin,
      endpoint: `${url.origin}/rest/${match[1]}/${secret}/`,
      kind: 'webhook',
      token: () => undefined,
      refresh: async () => false,
      redact: (text) => text.split(secret).join('***'),
    };
  }

  const problems: string[] = [];
  let origin = '';
  try {
    const url = new URL(String(auth.portalUrl ?? '').trim());
    if (!/^https?:$/.test(url.protocol)) throw new Error('not http');
    origin = url.origin;
  } catch {
    problems.push('portalUrl must be the portal address, e.g. https://example.bitrix24.ru');
  }
  let token = typeof auth.accessToken === 'string' ? auth.accessToken.trim() : '';
  if (!token) problems.push('accessToken is empty');
  if (problems.length > 0) throw new Bitrix24ConfigError(`Bitrix24 OAuth settings are invalid: ${problems.join('; ')}`);
  const seen = new Set([token]); // every token we ever held is redacted, not only the current one
  return {
    portal: origin,
    endpoint: `${origin}/rest/`,
    kind: 'oauth',
    token: () => token,
    async refresh() {
      if (!auth.refreshAccessToken) return false;
      token = (await auth.refreshAccessToken()).trim();
      seen.add(token);
      return token !== '';
    },
    redact(text) {
      let out = text;
      for (const t of seen) if (t) out = out.split(t).join('***');
      return out;
    },
  };
}
