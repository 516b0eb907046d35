/**
 * A local Roistat: a real HTTP server that behaves like the documented API (reference §1–7), so the
 * connector is tested over real sockets. Knobs let tests break it on purpose; state is exposed for asserts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmulatorOptions {
  apiKey?: string;
  project?: string;
  /** Server-side limit per project; default 10/s like Roistat. `0` disables it. */
  perSecond?: number;
  /** Seconds to put in Retry-After on 429s; omitted when undefined (Roistat does not document one). */
  retryAfterSeconds?: number;
  /** The "client management" option; off → clients/import answers option_not_enabled (402). */
  clientManagement?: boolean;
  /** Server-side hourly limit per project; default 5000 like Roistat. `0` disables it. */
  perHour?: number;
}

export interface EmulatorRequest {
  at: number;
  path: string;
  project: string | null;
  httpStatus: number;
  /** Roistat error name, or `success`. */
  outcome: string;
  records: number;
}

export interface StoredOrder {
  record: Record<string, unknown>;
  /** The status id is in the dictionary. Unknown ones are stored but "не учитывается" (reference §7.1). */
  statusKnown: boolean;
}

export interface RoistatEmulator {
  url: string; // base URL, e.g. http://127.0.0.1:1234/api/v1
  apiKey: string;
  project: string;
  clients: Map<string, Record<string, unknown>>;
  orders: Map<string, StoredOrder>;
  statuses: Array<Record<string, unknown>>;
  requests: EmulatorRequest[];
  /** Every raw request URL seen, to check the key never travels in the URL. */
  rawUrls: string[];
  /** 503 with an HTML page, like a proxy in front of a dead backend. */
  down: boolean;
  /** Any batch containing one of these ids is rejected whole with request_data_validation_error. */
  rejectIds: Set<string>;
  /** Every accepted client / order payload by id, in arrival order (JSON text), to check what was sent. */
  received: { clients: Map<string, string[]>; orders: Map<string, string[]> };
  options: Required<Omit<EmulatorOptions, 'retryAfterSeconds'>> & { retryAfterSeconds?: number };
  close(): Promise<void>;
}

type Reply = { httpStatus: number; body: Record<string, unknown>; headers?: Record<string, string> };

class ApiError {
  constructor(
    readonly httpStatus: number,
    readonly error: string,
    readonly description: string,
    readonly details?: unknown,
  ) {}
}

export async function startRoistatEmulator(opts: EmulatorOptions = {}): Promise<RoistatEmulator> {
  const options = {
    apiKey: opts.apiKey ?? 'emulator-secret-key-0001',
    project: opts.project ?? '12345',
    perSecond: opts.perSecond ?? 10,
    perHour: opts.perHour ?? 5000,
    clientManagement: opts.clientManagement ?? true,
    retryAfterSeconds: opts.retryAfterSeconds,
  };
  const recent: number[] = [];

  const emu = {
    url: '',
    apiKey: options.apiKey,
    project: options.project,
    clients: new Map(),
    orders: new Map(),
    statuses: [],
    requests: [],
    rawUrls: [],
    down: false,
    rejectIds: new Set(),
    received: { clients: new Map(), orders: new Map() },
    options,
  } as unknown as RoistatEmulator;

  const hourly: number[] = [];
  function checkRate(now: number) {
    if (emu.options.perHour) {
      while (hourly.length > 0 && hourly[0] <= now - 3_600_000) hourly.shift();
      hourly.push(now);
      if (hourly.length > emu.options.perHour) throw new ApiError(429, 'request_limit_error', 'Hourly request limit exceeded');
    }
    if (!emu.options.perSecond) return;
    while (recent.length > 0 && recent[0] <= now - 1000) recent.shift();
    recent.push(now);
    if (recent.length > emu.options.perSecond) throw new ApiError(429, 'request_limit_error', 'Too many requests');
  }

  function remember(kind: 'clients' | 'orders', record: Record<string, unknown>) {
    const id = String(record.id);
    const list = emu.received[kind].get(id) ?? [];
    list.push(JSON.stringify(record));
    emu.received[kind].set(id, list);
  }

  function records(body: unknown, fieldsRequired: string[]): Array<Record<string, unknown>> {
    if (!Array.isArray(body)) throw new ApiError(400, 'incorrect_request', 'Request body must be a JSON array');
    for (const r of body) {
      if (!r || typeof r !== 'object' || Array.isArray(r)) throw new ApiError(400, 'request_data_validation_error', 'Each item must be an object');
      const rec = r as Record<string, unknown>;
      for (const f of fieldsRequired) {
        if (typeof rec[f] !== 'string' || rec[f] === '') {
          throw new ApiError(400, 'request_data_validation_error', `Field "${f}" is required`);
        }
      }
      if (typeof rec.id === 'string' && emu.rejectIds.has(rec.id)) {
        throw new ApiError(400, 'request_data_validation_error', 'Request data is invalid');
      }
    }
    return body as Array<Record<string, unknown>>;
  }

  function handle(path: string, body: unknown): Record<string, unknown> {
    switch (path) {
      case '/api/v1/project/clients/import': {
        if (!emu.options.clientManagement) {
          throw new ApiError(402, 'option_not_enabled', 'Option is not enabled', { option: 'clients' });
        }
        const list = records(body, ['id', 'name']);
        for (const c of list) {
          emu.clients.set(c.id as string, { ...c });
          remember('clients', c);
        }
        return { status: 'success' };
      }
      case '/api/v1/project/add-orders': {
        if (!Array.isArray(body)) throw new ApiError(400, 'incorrect_request', 'Request body must be a JSON array');
        const valid = records(
          body.filter((o) => o && typeof o === 'object' && typeof (o as { id?: unknown }).id === 'string' && (o as { id: string }).id !== ''),
          [],
        );
        const known = new Set(emu.statuses.map((s) => s.id));
        let saved = 0;
        let unchanged = 0;
        for (const o of valid) {
          const id = o.id as string;
          remember('orders', o);
          const prev = emu.orders.get(id);
          if (prev && JSON.stringify(prev.record) === JSON.stringify(o)) {
            unchanged++;
            continue;
          }
          emu.orders.set(id, { record: { ...o }, statusKnown: o.status === undefined || known.has(String(o.status)) });
          saved++;
        }
        // Counter semantics beyond their names are unconfirmed; these are the obvious readings.
        return {
          processed: body.length,
          skipped_by_status: 0,
          skipped_by_waiting_visit_info: 0,
          skipped_by_internal_error: 0,
          skipped_because_not_changed: unchanged,
          skipped_by_invalid_format: body.length - valid.length,
          saved,
          comment: '',
          uploaded: saved,
          status: 'success',
        };
      }
      case '/api/v1/project/set-statuses': {
        const list = records(body, ['id', 'name']);
        for (const s of list) {
          if (!['progress', 'paid', 'canceled'].includes(String(s.type))) {
            throw new ApiError(400, 'request_data_validation_error', `Unknown status type "${String(s.type)}"`);
          }
        }
        emu.statuses = list.map((s) => ({ ...s })); // the whole dictionary is replaced
        const known = new Set(emu.statuses.map((s) => s.id));
        for (const o of emu.orders.values()) o.statusKnown = o.record.status === undefined || known.has(String(o.record.status));
        return { status: 'success' };
      }
      default:
        throw new ApiError(404, 'resource_not_found', 'Method not found');
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://emulator');
    emu.rawUrls.push(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const useHttpCode = req.headers['use-http-code'] === '1';
    const project = url.searchParams.get('project');
    let recordCount = 0;

    if (emu.down) {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
      emu.requests.push({ at, path: url.pathname, project, httpStatus: 503, outcome: 'down', records: 0 });
      return;
    }
    let reply: Reply;
    try {
      const key = req.headers['api-key'] ?? url.searchParams.get('key');
      if (key !== emu.apiKey) throw new ApiError(401, 'authentication_failed', 'Authentication failed');
      if (project !== emu.project) throw new ApiError(401, 'authentication_failed', 'Project is not accessible with this key');
      checkRate(at);
      if (req.method !== 'POST') throw new ApiError(404, 'resource_not_found', 'Method not found');
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        throw new ApiError(400, 'incorrect_request', 'Body is not valid JSON');
      }
      if (Array.isArray(body)) recordCount = body.length;
      reply = { httpStatus: 200, body: handle(url.pathname, body) };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const headers: Record<string, string> = {};
      if (e.httpStatus === 429 && emu.options.retryAfterSeconds !== undefined) headers['retry-after'] = String(emu.options.retryAfterSeconds);
      reply = {
        // Without Use-Http-Code every error is an HTTP 200 (reference §3.1).
        httpStatus: useHttpCode ? e.httpStatus : 200,
        body: { status: 'error', error: e.error, description: e.description, ...(e.details ? { details: e.details } : {}) },
        headers,
      };
    }
    emu.requests.push({
      at,
      path: url.pathname,
      project,
      httpStatus: reply.httpStatus,
      outcome: reply.body.status === 'success' ? 'success' : String(reply.body.error),
      records: recordCount,
    });
    res.writeHead(reply.httpStatus, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify(reply.body));
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((e) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', error: 'internal_error', description: String(e) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  emu.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  emu.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return emu;
}
