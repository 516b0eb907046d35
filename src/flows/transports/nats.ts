import { createInbox, headers, nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { ModuleTransport, StepCall, StepOutcome } from '../runtime/module.js';
import { failure, parseModuleAnswer, silentLog, type TransportLog } from './outcome.js';
import { answerCall, assertModuleName, correlationIdOf, parseStepCall, type ModuleHandler, type ServedModule } from './module-side.js';
import { shareConnection } from './nats-connections.js';
import { publishAndAwait, type Waiter } from './waiter.js';

export const DEFAULT_NATS_STREAM = 'CONVEYOR_MODULES';
export const DEFAULT_NATS_SUBJECT_PREFIX = 'conveyor.module';
/** Headers of the contract (docs/flows-module-contract.md). */
export const REPLY_TO_HEADER = 'Conveyor-Reply-To';
export const CORRELATION_HEADER = 'Conveyor-Correlation-Id';

interface NatsPlace {
  /** NATS server URL(s), comma-separated: `127.0.0.1:4222`. */
  servers: string;
  module: string;
  /** JetStream stream holding the calls (default CONVEYOR_MODULES); created if missing. */
  stream?: string;
  /** Calls go to `<subjectPrefix>.<module>` (default conveyor.module); the stream captures `<subjectPrefix>.>`. */
  subjectPrefix?: string;
  log?: TransportLog;
}

export interface NatsTransportOptions extends NatsPlace {
  /** Longest wait for a reply (never past the call's deadline). */
  timeoutMs: number;
}

export interface NatsModuleOptions extends NatsPlace {
  handler: ModuleHandler;
  /** Calls handled at once by this process (default 16). */
  concurrency?: number;
  /** Redelivery delay of a call whose handler neither finished nor checked in (default 30 s; kept alive while running). */
  ackWaitMs?: number;
}

const subjectOf = (prefix: string, module: string) => `${prefix}.${module}`;
/** Durable consumer names cannot hold dots. */
export const natsConsumerName = (module: string) => `conveyor-module-${module.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/**
 * Calls a module through JetStream: the call is stored in the stream (dedup by `Nats-Msg-Id`) and the
 * module replies by core NATS to this process's inbox. A reply lost with this process is not waited
 * for after a restart: the call times out and the supervisor's durable step job retries it.
 */
export async function createNatsTransport(opts: NatsTransportOptions): Promise<ModuleTransport> {
  assertModuleName(opts.module);
  const log = opts.log ?? silentLog;
  const prefix = opts.subjectPrefix ?? DEFAULT_NATS_SUBJECT_PREFIX;
  const subject = subjectOf(prefix, opts.module);
  const shared = await shareConnection(opts.servers, 'conveyor-hub');
  const { nc } = shared;
  try {
    await ensureStream(await jetstreamManager(nc), opts.stream ?? DEFAULT_NATS_STREAM, prefix);
  } catch (err) {
    await shared.release();
    throw err;
  }
  const inbox = createInbox();
  const waiting = new Map<string, Set<Waiter>>();
  // Each publish gets a token: its PubAck comes to `<inbox>.ack.<token>` and the module's reply to
  // `<inbox>.r.<token>` (the call's Conveyor-Reply-To), so both are matched to the call by subject
  // alone, one subscription each for all calls. Reading the reply's headers for its correlation id
  // cost more than the rest of taking the reply. (A PubAck subscription instead of a request per call:
  // nats.js builds a timer and an Error with a stack trace for every request.)
  const byToken = new Map<string, string>(); // token → correlation id, while the call is under way
  let nextToken = 0;

  const replyPrefix = `${inbox}.r.`;
  const replies = nc.subscribe(`${replyPrefix}*`, {
    callback: (err, msg) => {
      if (err) return log.warn({ module: opts.module, err: err.message }, 'reply subscription failed');
      // By the header where the token is gone: the reply to an earlier publish of the same attempt (a
      // re-publish stored once under Nats-Msg-Id) still answers whoever waits for that attempt now.
      const correlationId = byToken.get(msg.subject.slice(replyPrefix.length)) ?? msg.headers?.get(CORRELATION_HEADER) ?? '';
      const waiters = waiting.get(correlationId);
      if (!waiters) return; // a late reply, after the deadline: ignored by contract
      const outcome = parseModuleAnswer(opts.module, msg.string());
      for (const w of waiters) w.settle(outcome);
    },
  });

  // A stored call needs nothing more from its PubAck; a refused one (no stream captures the subject,
  // stream full) fails the call at once as MODULE_UNREACHABLE.
  const ackPrefix = `${inbox}.ack.`;
  const pubAcks = nc.subscribe(`${ackPrefix}*`, {
    callback: (err, msg) => {
      if (err) return log.warn({ module: opts.module, err: err.message }, 'PubAck subscription failed');
      const correlationId = byToken.get(msg.subject.slice(ackPrefix.length));
      if (correlationId === undefined) return;
      const refused = pubAckRefusal(msg.data.length === 0 ? '' : msg.string(), msg.headers?.code);
      if (refused === undefined) return;
      log.warn({ module: opts.module, where: subject, err: refused }, 'publishing a module call failed');
      const outcome = failure('MODULE_UNREACHABLE', `could not queue the call for module ${opts.module} on ${subject}: ${refused}`, true);
      for (const w of waiting.get(correlationId) ?? []) w.settle(outcome);
    },
  });

  function call(step: StepCall, signal: AbortSignal): Promise<StepOutcome> {
    let token: string | undefined;
    const answer = publishAndAwait(step, signal, { timeoutMs: opts.timeoutMs, waiting, where: subject, log }, async (correlationId) => {
      token = String(nextToken++);
      byToken.set(token, correlationId);
      const h = headers();
      h.set(REPLY_TO_HEADER, replyPrefix + token);
      h.set(CORRELATION_HEADER, correlationId);
      // Nats-Msg-Id = one per attempt: a re-published attempt is stored once, a new attempt always reaches the module.
      h.set('Nats-Msg-Id', correlationId);
      const body = JSON.stringify(step);
      const reply = ackPrefix + token;
      await shared.soon(() => nc.publish(subject, body, { headers: h, reply }));
    });
    return answer.finally(() => {
      if (token !== undefined) byToken.delete(token);
    });
  }

  return {
    kind: 'queue',
    keepsDeadline: true, // publishAndAwait settles at the deadline and on abort, and never rejects
    call,
    async close() {
      replies.unsubscribe();
      pubAcks.unsubscribe();
      await shared.release();
    },
  };
}

/**
 * Serves a Node module over JetStream: takes calls from `<subjectPrefix>.<module>` through a durable
 * consumer shared by every instance of the module, replies, then acks. A process that dies before
 * the ack gets the call redelivered to another instance (same idempotencyKey).
 */
export async function serveNatsModule(opts: NatsModuleOptions): Promise<ServedModule> {
  assertModuleName(opts.module);
  const log = opts.log ?? silentLog;
  const prefix = opts.subjectPrefix ?? DEFAULT_NATS_SUBJECT_PREFIX;
  const stream = opts.stream ?? DEFAULT_NATS_STREAM;
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const shared = await shareConnection(opts.servers, 'conveyor-modules');
  const { nc } = shared;
  let messages;
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, stream, prefix);
    const durable = natsConsumerName(opts.module);
    await ensureConsumer(jsm, stream, durable, subjectOf(prefix, opts.module), ackWaitMs);
    const consumer = await jetstream(nc).consumers.get(stream, durable);
    messages = await consumer.consume({ max_messages: concurrency });
  } catch (err) {
    await shared.release();
    throw err;
  }

  async function handle(m: JsMsg): Promise<void> {
    const call = parseStepCall(m.string());
    const replyTo = m.headers?.get(REPLY_TO_HEADER);
    if (!call || !replyTo) {
      log.warn({ module: opts.module, seq: m.seq }, 'dropped a message that is not a Conveyor call');
      return m.term('not a Conveyor call');
    }
    if (call.deadline <= Date.now()) return m.ack(); // nobody waits for it any more
    // Kept ours while the handler runs longer than ack_wait (one timer for all the calls under way).
    working.add(m);
    try {
      const answer = await answerCall(opts.handler, call);
      const h = headers();
      h.set(CORRELATION_HEADER, m.headers?.get(CORRELATION_HEADER) || correlationIdOf(call));
      // No flush between reply and ack (a round trip per call): one connection carries both in order,
      // so the server has the reply before it sees the ack; lost together, the call is redelivered.
      // Both go out with the connection's other publishes of this turn (shared.soon).
      const body = JSON.stringify(answer);
      await shared.soon(() => {
        nc.publish(replyTo, body, { headers: h });
        m.ack();
      });
    } catch (err) {
      log.warn({ module: opts.module, err: (err as Error).message }, 'could not reply; the call will be redelivered');
      m.nak(1000);
    } finally {
      working.delete(m);
    }
  }
  const working = new Set<JsMsg>();
  const keepAlive = setInterval(() => {
    for (const m of working) m.working();
  }, Math.max(1000, ackWaitMs / 2));
  keepAlive.unref();

  const running = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const m of messages) {
      const task = handle(m).finally(() => running.delete(task));
      running.add(task);
      if (running.size >= concurrency) await Promise.race(running);
    }
  })();

  return {
    async close() {
      await messages.close();
      await loop;
      await Promise.all(running);
      clearInterval(keepAlive);
      await shared.release();
    },
  };
}

/** Why the server refused a published call (its PubAck's error, or no responders: no stream captures the subject); undefined when stored. */
function pubAckRefusal(body: string, status: number | undefined): string | undefined {
  if (status === 503) return 'no JetStream stream captures this subject (no responders)';
  if (body === '') return status !== undefined && status >= 400 ? `status ${status}` : undefined;
  try {
    const ack = JSON.parse(body) as { stream?: string; error?: { code?: number; description?: string } };
    if (ack.error) return `JetStream refused it: ${ack.error.description ?? 'unknown error'} (${ack.error.code ?? '?'})`;
    return ack.stream ? undefined : `unexpected PubAck ${body.slice(0, 200)}`;
  } catch {
    return `unexpected PubAck ${body.slice(0, 200)}`;
  }
}

/** The module's durable consumer; an existing one keeps its place in the stream and takes the new ack wait. */
async function ensureConsumer(jsm: JetStreamManager, stream: string, durable: string, subject: string, ackWaitMs: number): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, durable);
    if (info.config.ack_wait !== nanos(ackWaitMs)) await jsm.consumers.update(stream, durable, { ack_wait: nanos(ackWaitMs) });
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  await jsm.consumers.add(stream, { durable_name: durable, filter_subject: subject, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ackWaitMs) });
}

/** Creates the calls stream if missing; refuses an existing one that would not capture our subjects. */
export async function ensureStream(jsm: JetStreamManager, name: string, prefix: string): Promise<void> {
  const wanted = `${prefix}.>`;
  try {
    const info = await jsm.streams.info(name);
    if (!info.config.subjects?.includes(wanted)) {
      throw new Error(`JetStream stream ${name} exists but does not capture ${wanted} (its subjects: ${info.config.subjects?.join(', ') || 'none'})`);
    }
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
  }
  await jsm.streams.add({
    name,
    subjects: [wanted],
    // Work queue: a call is removed once the module acks it; one consumer per module subject.
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(2 * 60_000),
    // Calls past every sane deadline are garbage; bound what a dead module leaves behind.
    max_age: nanos(7 * 24 * 3_600_000),
  });
}
