import qs from 'qs';
import { Bitrix24Error, Bitrix24RequestError, classifyBitrix24Error } from './errors.js';
import type { Bitrix24Caller } from './transport.js';

/** Bitrix24 runs at most 50 sub-calls per `batch` (ERROR_BATCH_LENGTH_EXCEEDED above that). */
export const MAX_BATCH_COMMANDS = 50;

export interface Bitrix24BatchCommand {
  method: string;
  params?: Record<string, unknown>;
}

export type Bitrix24BatchItem =
  | { ok: true; result: unknown; total?: number; next?: number }
  /** `sent: false`: never executed (halted, or the whole batch request failed) — safe to send again. */
  | { ok: false; sent: boolean; error: Bitrix24Error };

export interface Bitrix24BatchResult {
  /** One entry per command key. */
  items: Record<string, Bitrix24BatchItem>;
  /** Number of `batch` HTTP requests made. */
  calls: number;
}

export interface Bitrix24BatchOptions {
  /** Stop at the first failing command; the rest are reported `sent: false`. */
  halt?: boolean;
  /** Commands per request, at most 50. Write-heavy batches may want fewer (gateway timeouts, reference §10.3). */
  chunkSize?: number;
}

const REFERENCE = /\$result\[([^\]]+)\]((?:\[[^\]]*\])*)/g;

/**
 * Runs named commands through `batch`, 50 at a time, and maps every command to its own result or typed
 * error (Bitrix24 answers HTTP 200 even when sub-calls fail). `$result[key][field]` references work as in
 * Bitrix24 inside one request; a reference to a command sent in an EARLIER request is resolved here, from
 * that command's result, before sending. A reference to a later command is a programming error.
 */
export async function runBatch(
  caller: Bitrix24Caller,
  commands: Record<string, Bitrix24BatchCommand>,
  opts: Bitrix24BatchOptions = {},
): Promise<Bitrix24BatchResult> {
  const chunkSize = opts.chunkSize ?? MAX_BATCH_COMMANDS;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_BATCH_COMMANDS) {
    throw new RangeError(`Bitrix24 batch chunkSize must be 1..${MAX_BATCH_COMMANDS}`);
  }
  const keys = Object.keys(commands);
  validate(commands, keys);

  const items: Record<string, Bitrix24BatchItem> = {};
  let calls = 0;
  let stopped: Bitrix24Error | undefined;

  for (let i = 0; i < keys.length; i += chunkSize) {
    const chunk = keys.slice(i, i + chunkSize);
    if (stopped) {
      for (const key of chunk) items[key] = { ok: false, sent: false, error: stopped };
      continue;
    }
    const cmd: Record<string, string> = {};
    const toSend: string[] = [];
    for (const key of chunk) {
      if (stopped) {
        items[key] = { ok: false, sent: false, error: stopped };
        continue;
      }
      const { method, params = {} } = commands[key];
      try {
        cmd[key] = encodeCommand(method, resolveEarlier(params, new Set(chunk), items) as Record<string, unknown>);
        toSend.push(key);
      } catch (error) {
        if (!(error instanceof Bitrix24RequestError)) throw error;
        items[key] = { ok: false, sent: false, error };
        if (opts.halt) stopped = error;
      }
    }
    if (toSend.length === 0) continue;
    const sendable = Object.fromEntries(toSend.map((k) => [k, cmd[k]]));
    let reply: Record<string, unknown>;
    try {
      calls++;
      reply = asObject(await caller.call('batch', { halt: opts.halt ? 1 : 0, cmd: sendable }));
    } catch (error) {
      if (!(error instanceof Bitrix24Error)) throw error;
      // Not any command's fault (outage, limits, credentials): stop and report everything unsent.
      stopped = error;
      for (const key of toSend) items[key] = { ok: false, sent: false, error };
      continue;
    }
    const results = asObject(reply.result);
    const errors = asObject(reply.result_error);
    const totals = asObject(reply.result_total);
    const nexts = asObject(reply.result_next);
    for (const key of toSend) {
      const method = commands[key].method;
      if (key in errors) {
        const e = asObject(errors[key]);
        const error = classifyBitrix24Error({
          apiError: typeof e.error === 'string' ? e.error : undefined,
          description: typeof e.error_description === 'string' ? e.error_description : undefined,
          method,
        });
        items[key] = { ok: false, sent: true, error };
        if (opts.halt) stopped ??= error;
      } else if (key in results) {
        const item: Bitrix24BatchItem = { ok: true, result: results[key] };
        if (typeof totals[key] === 'number') item.total = totals[key] as number;
        if (typeof nexts[key] === 'number') item.next = nexts[key] as number;
        items[key] = item;
      } else {
        // With halt=1 Bitrix24 simply leaves out the commands after the failing one.
        const error = new Bitrix24RequestError(`Bitrix24 ${method} was not executed: the batch halted at an earlier error`, { method });
        items[key] = { ok: false, sent: false, error };
        if (opts.halt) stopped ??= error;
      }
    }
  }
  return { items, calls };
}

/** `method?params` with PHP-style brackets, as Bitrix24 parses `cmd`; `$result[...]` is left readable. */
export function encodeCommand(method: string, params: Record<string, unknown>): string {
  const query = qs.stringify(params, {
    encoder: (str, defaultEncoder, charset, type) =>
      type === 'value' && typeof str === 'string'
        ? str.split(/(\$result(?:\[[^\]]*\])+)/).map((part, i) => (i % 2 === 1 ? part : defaultEncoder(part, defaultEncoder, charset))).join('')
        : defaultEncoder(str, defaultEncoder, charset),
  });
  return query ? `${method}?${query}` : method;
}

function validate(commands: Record<string, Bitrix24BatchCommand>, keys: string[]) {
  const problems: string[] = [];
  const position = new Map(keys.map((k, i) => [k, i]));
  keys.forEach((key, index) => {
    const c = commands[key];
    if (/[[\]]/.test(key)) problems.push(`"${key}": command keys cannot contain brackets`);
    if (!c || typeof c.method !== 'string' || !/^[a-z0-9_.]+$/i.test(c.method)) problems.push(`"${key}": method is missing or not a method name`);
    else if (c.method.toLowerCase() === 'batch') problems.push(`"${key}": batch cannot be nested (ERROR_BATCH_METHOD_NOT_ALLOWED)`);
    for (const ref of references(c?.params ?? {})) {
      const at = position.get(ref);
      if (at === undefined) problems.push(`"${key}": $result[${ref}] names no command`);
      else if (at >= index) problems.push(`"${key}": $result[${ref}] refers to a command that runs later`);
    }
  });
  if (problems.length > 0) throw new TypeError(`Bitrix24 batch is invalid:\n  ${problems.join('\n  ')}`);
}

function references(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') for (const m of value.matchAll(REFERENCE)) out.push(m[1]);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) references(v, out);
  return out;
}

/** Replaces references to commands of earlier requests by their results; same-request ones stay for Bitrix24. */
function resolveEarlier(value: unknown, sameChunk: Set<string>, done: Record<string, Bitrix24BatchItem>): unknown {
  if (typeof value === 'string') {
    const whole = new RegExp(`^${REFERENCE.source}$`).exec(value);
    if (whole && !sameChunk.has(whole[1])) return lookup(whole[0], whole[1], whole[2], done);
    return value.replace(REFERENCE, (ref, key: string, path: string) =>
      sameChunk.has(key) ? ref : String(lookup(ref, key, path, done)),
    );
  }
  if (Array.isArray(value)) return value.map((v) => resolveEarlier(v, sameChunk, done));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEarlier(v, sameChunk, done)]));
  }
  return value;
}

function lookup(ref: string, key: string, path: string, done: Record<string, Bitrix24BatchItem>): unknown {
  const item = done[key];
  if (!item || !item.ok) throw new Bitrix24RequestError(`Bitrix24 batch: ${ref} cannot be resolved, command "${key}" failed`);
  let current: unknown = item.result;
  for (const [, segment] of path.matchAll(/\[([^\]]*)\]/g)) {
    current = current && typeof current === 'object' ? (current as Record<string, unknown>)[segment] : undefined;
  }
  if (current === undefined || current === null) throw new Bitrix24RequestError(`Bitrix24 batch: ${ref} resolves to nothing`);
  return current;
}

/** PHP sends empty maps as `[]`, and maps keyed 0..n-1 as JSON arrays. */
function asObject(v: unknown): Record<string, unknown> {
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}
