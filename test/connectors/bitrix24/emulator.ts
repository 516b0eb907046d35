/**
 * A local Bitrix24 portal: a real HTTP server that behaves like the documented REST API (reference
 * /work/shared/reference/bitrix24-api.md), so the connector is tested over real sockets. Webhook paths
 * `/rest/<user>/<secret>/<method>.json` and OAuth `auth`; JSON, form-encoded and GET parameters; the leaky
 * bucket (503 QUERY_LIMIT_EXCEEDED), the per-method operating-time limit (429 OPERATION_TIME_LIMIT), batch,
 * and the `time` block. Knobs break it on purpose; state and request counters are exposed for asserts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';
import type { Clock } from '../../../src/platform/clock.js';
import { ApiError, CrmStore, isoDate, type EntityKind, type MethodReply, type Params } from './emulator-crm.js';

export interface Bitrix24EmulatorOptions {
  userId?: number;
  secret?: string;
  accessTokens?: string[];
  /** Scopes granted to the webhook/app; CRM methods need `crm`. */
  scopes?: string[];
  /** Leaky bucket: drain per second (2) and the level above which requests are refused (50). threshold 0 disables it. */
  drainPerSecond?: number;
  threshold?: number;
  /** Seconds of `operating` per method over 10 minutes before OPERATION_TIME_LIMIT (docs example: 480). */
  operatingLimitSeconds?: number;
  /** Time for the bucket, the `time` block, dates and operating windows; tests may pass a virtual clock. */
  clock?: Clock;
}

export interface EmulatorRequest {
  at: number;
  /** REST method from the path (`crm.deal.list`, `batch`), or the raw path when it named none. */
  method: string;
  httpMethod: string;
  contentType: string;
  auth: 'webhook' | 'oauth';
  httpStatus: number;
  /** `ok`, a Bitrix24 error code (`''` for CRM errors), `down` or `fault`. */
  outcome: string;
  /** Sub-calls of a batch. */
  subCalls: number;
  /** Parameters as the portal parsed them (top-level names lower-cased, `auth` removed). */
  params: Params;
}

/** Make the next `times` calls (of `method`, or of any method) fail this way. */
export interface Fault {
  method?: string;
  httpStatus: number;
  error?: string;
  description?: string;
  /** Answer with an HTML page instead of JSON, like a proxy in front of a broken portal. */
  html?: boolean;
  times?: number;
}

export interface Bitrix24Emulator {
  /** `http://127.0.0.1:<port>` — the portal address. */
  url: string;
  /** `<url>/rest/<userId>/<secret>/` */
  webhookUrl: string;
  userId: number;
  secret: string;
  accessTokens: Set<string>;
  /** Tokens answered with 401 expired_token. */
  expiredTokens: Set<string>;
  scopes: Set<string>;
  store: CrmStore;
  requests: EmulatorRequest[];
  /** Every raw request URL, to check what travels in URLs. */
  rawUrls: string[];
  count(match?: { method?: string; outcome?: string }): number;
  /** 503 with an HTML page. */
  down: boolean;
  faults: Fault[];
  limits: { drainPerSecond: number; threshold: number };
  operatingLimitSeconds: number;
  /** Seconds of `operating` each call of a method costs (default 0: the emulator is fast). */
  operatingCost: Map<string, number>;
  /** Seed data through the same rules as `crm.*.add`; returns the new id. */
  add(kind: EntityKind, fields: Params): number;
  close(): Promise<void>;
}

const QS = { depth: 10, arrayLimit: 1000, parameterLimit: 10_000 } as const;
const PATH = /^\/rest\/(?:(\d+)\/([^/]+)\/)?([^/]+?)(?:\.json)?\/?$/;

export async function startBitrix24Emulator(opts: Bitrix24EmulatorOptions = {}): Promise<Bitrix24Emulator> {
  const clock = opts.clock ?? { now: () => Date.now() };
  let level = 0;
  let levelAt = clock.now();
  /** method → minute → operating seconds (10 one-minute buckets, reference §8.3). */
  const operating = new Map<string, Map<number, number>>();

  const emu = {
    url: '',
    webhookUrl: '',
    userId: opts.userId ?? 1,
    secret: opts.secret ?? 'emu7secret3webhook9code',
    accessTokens: new Set(opts.accessTokens ?? ['emu-access-token-1']),
    expiredTokens: new Set<string>(),
    scopes: new Set(opts.scopes ?? ['crm']),
    store: new CrmStore(() => clock.now()),
    requests: [] as EmulatorRequest[],
    rawUrls: [] as string[],
    down: false,
    faults: [] as Fault[],
    limits: { drainPerSecond: opts.drainPerSecond ?? 2, threshold: opts.threshold ?? 50 },
    operatingLimitSeconds: opts.operatingLimitSeconds ?? 480,
    operatingCost: new Map<string, number>(),
  } as Bitrix24Emulator;
  emu.add = (kind, fields) => emu.store.add(kind, fields);
  emu.count = (m = {}) =>
    emu.requests.filter((r) => (m.method === undefined || r.method === m.method) && (m.outcome === undefined || r.outcome === m.outcome)).length;

  /** Leaky bucket: each request adds 1, the level drains; above the threshold → 503. Refused requests are not counted. */
  function checkBucket() {
    if (!emu.limits.threshold) return;
    const now = clock.now();
    level = Math.max(0, level - ((now - levelAt) / 1000) * emu.limits.drainPerSecond);
    levelAt = now;
    if (level + 1 > emu.limits.threshold) throw new ApiError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    level += 1;
  }

  function operatingOf(method: string): { seconds: number; resetAt?: number } {
    const minute = Math.floor(clock.now() / 60_000);
    const buckets = operating.get(method);
    if (!buckets) return { seconds: 0 };
    for (const m of buckets.keys()) if (m <= minute - 10) buckets.delete(m);
    if (buckets.size === 0) return { seconds: 0 };
    const seconds = [...buckets.values()].reduce((a, b) => a + b, 0);
    return { seconds, resetAt: (Math.min(...buckets.keys()) + 10) * 60 };
  }

  function timeBlock(started: number, method?: string): Record<string, unknown> {
    const finished = clock.now();
    const time: Record<string, unknown> = {
      start: started / 1000,
      finish: finished / 1000,
      duration: (finished - started) / 1000,
      processing: (finished - started) / 1000,
      date_start: isoDate(started),
      date_finish: isoDate(finished),
    };
    if (method) {
      const op = operatingOf(method);
      if (op.resetAt !== undefined) time.operating_reset_at = op.resetAt;
      time.operating = op.seconds;
    }
    return time;
  }

  /** One REST method, as called directly or from a batch. */
  function execute(method: string, params: Params): MethodReply {
    if (method.startsWith('crm.') && !emu.scopes.has('crm')) throw new ApiError(403, 'insufficient_scope', 'The request requires higher privileges than provided by the webhook token');
    if (operatingOf(method).seconds >= emu.operatingLimitSeconds) {
      throw new ApiError(429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.');
    }
    const reply = dispatch(method, params);
    const cost = emu.operatingCost.get(method) ?? 0;
    if (cost > 0) {
      const minute = Math.floor(clock.now() / 60_000);
      const buckets = operating.get(method) ?? new Map<number, number>();
      buckets.set(minute, (buckets.get(minute) ?? 0) + cost);
      operating.set(method, buckets);
    }
    return reply;
  }

  function dispatch(method: string, p: Params): MethodReply {
    const entity = /^crm\.(contact|lead|deal)\.(add|get|list|update)$/.exec(method);
    if (entity) {
      const kind = entity[1] as EntityKind;
      switch (entity[2]) {
        case 'add':
          return { result: emu.store.add(kind, p.fields) };
        case 'get':
          return { result: emu.store.get(kind, p.id) };
        case 'update':
          return { result: emu.store.update(kind, p.id, p.fields) };
        default:
          return emu.store.list(kind, p);
      }
    }
    if (method === 'crm.duplicate.findbycomm') return { result: emu.store.findByComm(p) };
    if (method === 'server.time') return { result: isoDate(clock.now()) };
    if (method === 'batch') throw new ApiError(405, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage');
    throw new ApiError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
  }

  function batch(p: Params, started: number): { reply: Record<string, unknown>; subCalls: number } {
    const cmd = p.cmd;
    if (!cmd || typeof cmd !== 'object') throw new ApiError(400, 'INVALID_ARG_VALUE', 'Parameter cmd must be array');
    const entries = Object.entries(cmd as Params);
    if (entries.length > 50) throw new ApiError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded');
    const halt = ['1', 'true', 'y'].includes(String(p.halt ?? '0').toLowerCase());
    const out = { result: {} as Params, result_error: {} as Params, result_total: {} as Params, result_next: {} as Params, result_time: {} as Params };
    for (const [key, raw] of entries) {
      const text = String(raw);
      const q = text.indexOf('?');
      const method = (q < 0 ? text : text.slice(0, q)).trim().toLowerCase();
      const subStarted = clock.now();
      try {
        const params = substitute(lowerTop(q < 0 ? {} : (qs.parse(text.slice(q + 1), QS) as Params)), out.result) as Params;
        const reply = execute(method, params);
        out.result[key] = reply.result;
        if (reply.total !== undefined) out.result_total[key] = reply.total;
        if (reply.next !== undefined) out.result_next[key] = reply.next;
        out.result_time[key] = timeBlock(subStarted, method);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        out.result_error[key] = { error: e.error, error_description: e.description };
        if (halt) break; // later commands are simply absent
      }
    }
    // PHP serialises empty maps as [] (reference §7), so clients must cope with both.
    const php = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Object.keys(v).length === 0 ? [] : v]));
    return { reply: { result: php, time: timeBlock(started) }, subCalls: entries.length };
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    const started = clock.now();
    const rawUrl = req.url ?? '/';
    emu.rawUrls.push(rawUrl);
    const url = new URL(rawUrl, 'http://emulator');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    const route = PATH.exec(url.pathname);
    const method = route ? route[3].toLowerCase() : url.pathname;
    const record: EmulatorRequest = {
      at: started,
      method,
      httpMethod: req.method ?? '',
      contentType,
      auth: route?.[1] ? 'webhook' : 'oauth',
      httpStatus: 200,
      outcome: 'ok',
      subCalls: 0,
      params: {},
    };
    const send = (status: number, body: string, type = 'application/json; charset=utf-8') => {
      record.httpStatus = status;
      emu.requests.push(record);
      res.writeHead(status, { 'content-type': type }).end(body);
    };

    if (emu.down) {
      record.outcome = 'down';
      return send(503, '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>', 'text/html');
    }
    try {
      if (!route) throw new ApiError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
      const params = lowerTop({ ...(qs.parse(url.search.slice(1), QS) as Params), ...parseBody(text, contentType) });
      authenticate(route, params);
      checkBucket();
      const fault = emu.faults.find((f) => f.method === undefined || f.method === method);
      if (fault) {
        if (fault.times !== undefined && --fault.times <= 0) emu.faults.splice(emu.faults.indexOf(fault), 1);
        record.outcome = 'fault';
        if (fault.html) return send(fault.httpStatus, '<html><body>Bad Gateway</body></html>', 'text/html');
        return send(fault.httpStatus, JSON.stringify({ error: fault.error ?? '', error_description: fault.description ?? '' }));
      }
      delete params.auth;
      record.params = params;
      if (method === 'batch') {
        const { reply, subCalls } = batch(params, started);
        record.subCalls = subCalls;
        return send(200, JSON.stringify(reply));
      }
      const reply = execute(method, params);
      return send(200, JSON.stringify({ ...reply, time: timeBlock(started, method) }));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      record.outcome = e.error;
      return send(e.httpStatus, JSON.stringify({ error: e.error, error_description: e.description }));
    }
  }

  function authenticate(route: RegExpExecArray, params: Params) {
    if (route[1]) {
      if (Number(route[1]) !== emu.userId || route[2] !== emu.secret) throw new ApiError(401, 'INVALID_CREDENTIALS', 'Invalid request credentials');
      return;
    }
    const token = typeof params.auth === 'string' ? params.auth : '';
    if (emu.expiredTokens.has(token)) throw new ApiError(401, 'expired_token', 'The access token provided has expired.');
    if (!emu.accessTokens.has(token)) throw new ApiError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((e) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'INTERNAL_SERVER_ERROR', error_description: String(e) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  emu.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  emu.webhookUrl = `${emu.url}/rest/${emu.userId}/${emu.secret}/`;
  emu.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return emu;
}

function parseBody(text: string, contentType: string): Params {
  if (!text) return {};
  if (contentType === 'application/json') {
    try {
      const v: unknown = JSON.parse(text);
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Params) : {};
    } catch {
      throw new ApiError(400, 'INVALID_REQUEST', 'Request body is not valid JSON');
    }
  }
  return qs.parse(text, QS) as Params; // application/x-www-form-urlencoded, PHP-style brackets
}

/** Top-level parameter names are case-insensitive (`FILTER` = `filter`, `ID` = `id`). */
function lowerTop(p: Params): Params {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k.toLowerCase(), v]));
}

const REFERENCE = /\$result\[([^\]]+)\]((?:\[[^\]]*\])*)/g;

/** `$result[key][field]...` in parameter values, resolved from earlier sub-calls of the same batch. */
function substitute(value: unknown, results: Params): unknown {
  if (typeof value === 'string') {
    const resolve = (key: string, path: string): unknown => {
      let cur: unknown = results[key];
      for (const [, seg] of path.matchAll(/\[([^\]]*)\]/g)) cur = cur && typeof cur === 'object' ? (cur as Params)[seg] : undefined;
      return cur;
    };
    const whole = new RegExp(`^${REFERENCE.source}$`).exec(value);
    if (whole) {
      const v = resolve(whole[1], whole[2]);
      return v === undefined ? value : v;
    }
    return value.replace(REFERENCE, (ref, key: string, path: string) => {
      const v = resolve(key, path);
      return v === undefined || typeof v === 'object' ? ref : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, results));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, results)]));
  return value;
}
