import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { ModuleTransport, StepCall, StepOutcome } from '../runtime/module.js';
import { failure, parseModuleAnswer, silentLog, type TransportLog } from './outcome.js';
import { answerCall, assertModuleName, correlationIdOf, parseStepCall, type ModuleHandler, type ServedModule } from './module-side.js';
import { publishAndAwait, type Waiter } from './waiter.js';

export const DEFAULT_RABBIT_QUEUE_PREFIX = 'conveyor.module';

interface RabbitPlace {
  /** amqp://user:password@host:5672/vhost — never logged. */
  url: string;
  module: string;
  /** Calls go to the durable queue `<queuePrefix>.<module>` (default conveyor.module). */
  queuePrefix?: string;
  log?: TransportLog;
}

export interface RabbitTransportOptions extends RabbitPlace {
  /** Longest wait for a reply (never past the call's deadline). */
  timeoutMs: number;
}

export interface RabbitModuleOptions extends RabbitPlace {
  handler: ModuleHandler;
  /** Unacked calls this process holds at once (default 16). */
  prefetch?: number;
}

interface Link {
  conn: ChannelModel;
  channel: ConfirmChannel;
  replyQueue: string;
}

/**
 * Calls a module through RabbitMQ: a persistent message on the module's durable queue (publisher
 * confirms), answered on this process's exclusive reply queue. The reply queue dies with the
 * process, so a reply meant for a crashed process is dropped and the supervisor's durable step job
 * retries after its lease. A lost connection fails the calls in flight (retryable) and the next
 * call reconnects.
 */
export async function createRabbitTransport(opts: RabbitTransportOptions): Promise<ModuleTransport> {
  assertModuleName(opts.module);
  const log = opts.log ?? silentLog;
  const queue = `${opts.queuePrefix ?? DEFAULT_RABBIT_QUEUE_PREFIX}.${opts.module}`;
  const waiting = new Map<string, Set<Waiter>>();
  let link: Promise<Link> | undefined;
  let closing = false;

  const onReply = (msg: ConsumeMessage | null) => {
    if (!msg) return; // consumer cancelled: handled by the close event
    const waiters = waiting.get(msg.properties.correlationId ?? '');
    if (!waiters) return; // late reply: ignored by contract
    const outcome = parseModuleAnswer(opts.module, msg.content.toString('utf8'));
    for (const w of waiters) w.settle(outcome);
  };

  async function open(): Promise<Link> {
    const conn = await amqp.connect(opts.url);
    // Before anything else: amqplib throws an 'error' nobody listens to (e.g. a refused queue declaration).
    conn.on('error', (err: Error) => log.warn({ module: opts.module, err: err.message }, 'RabbitMQ connection error'));
    try {
      const channel = await conn.createConfirmChannel();
      channel.on('error', (err: Error) => log.warn({ module: opts.module, err: err.message }, 'RabbitMQ channel error'));
      await channel.assertQueue(queue, { durable: true });
      const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.consume(replyQueue, onReply, { noAck: true });
      // A channel closed by the broker leaves the connection up but useless: drop both, reconnect on the next call.
      channel.on('close', () => void conn.close().catch(() => {}));
      conn.on('close', () => {
        link = undefined;
        if (closing) return;
        log.warn({ module: opts.module, queue }, 'RabbitMQ connection closed; calls in flight fail and the next call reconnects');
        const lost = failure('MODULE_UNREACHABLE', `connection to RabbitMQ closed while waiting for module ${opts.module}`, true);
        for (const set of waiting.values()) for (const w of set) w.settle(lost);
      });
      return { conn, channel, replyQueue };
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
  }

  function connected(): Promise<Link> {
    if (!link) {
      link = open();
      link.catch(() => (link = undefined));
    }
    return link;
  }

  // Connect now so a wrong URL or a missing broker shows at start-up, like the NATS transport.
  await connected();

  function call(step: StepCall, signal: AbortSignal): Promise<StepOutcome> {
    return publishAndAwait(step, signal, { timeoutMs: opts.timeoutMs, waiting, where: queue, log }, async (correlationId, deadline) => {
      const { channel, replyQueue } = await connected();
      await confirmSend(channel, queue, Buffer.from(JSON.stringify(step)), {
        persistent: true,
        contentType: 'application/json',
        correlationId,
        messageId: correlationId,
        replyTo: replyQueue,
        // RabbitMQ drops the call once nobody waits for it.
        expiration: String(Math.max(1, deadline - Date.now())),
      });
    });
  }

  return {
    kind: 'queue',
    keepsDeadline: true, // publishAndAwait settles at the deadline and on abort, and never rejects
    call,
    async close() {
      closing = true;
      const current = link;
      link = undefined;
      if (current) await (await current.catch(() => undefined))?.conn.close().catch(() => {});
    },
  };
}

/** Reconnect pace of a served module after it lost the broker: doubling from 500 ms up to 30 s. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/**
 * Serves a Node module over RabbitMQ: consumes `<queuePrefix>.<module>` with manual acks, sends the
 * answer to the call's `replyTo` with its `correlationId`, and acks only once the broker confirmed
 * the answer. A process that dies before the ack gets the call redelivered (same idempotencyKey).
 * A lost connection is re-established with backoff; calls unacked when it dropped are redelivered by
 * RabbitMQ. The first connection must succeed (a wrong URL fails at once).
 */
export async function serveRabbitModule(opts: RabbitModuleOptions): Promise<ServedModule> {
  assertModuleName(opts.module);
  const log = opts.log ?? silentLog;
  const queue = `${opts.queuePrefix ?? DEFAULT_RABBIT_QUEUE_PREFIX}.${opts.module}`;
  const running = new Set<Promise<void>>();
  let closing = false;
  let current: { conn: ChannelModel; channel: ConfirmChannel; consumerTag: string } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = RECONNECT_FIRST_MS;

  async function connect(): Promise<void> {
    const conn = await amqp.connect(opts.url);
    conn.on('error', (err: Error) => log.warn({ module: opts.module, err: err.message }, 'RabbitMQ connection error'));
    try {
      const channel = await conn.createConfirmChannel();
      channel.on('error', (err: Error) => log.warn({ module: opts.module, err: err.message }, 'RabbitMQ channel error'));
      // A channel closed by the broker leaves the connection up but useless: drop it, which reconnects.
      channel.on('close', () => void conn.close().catch(() => {}));
      await channel.assertQueue(queue, { durable: true });
      await channel.prefetch(Math.max(1, opts.prefetch ?? 16));
      const { consumerTag } = await channel.consume(queue, (msg) => {
        if (!msg) return;
        const task = handle(channel, msg).finally(() => running.delete(task));
        running.add(task);
      });
      current = { conn, channel, consumerTag };
      conn.on('close', () => {
        if (current?.conn === conn) current = undefined;
        if (closing) return;
        log.warn({ module: opts.module, queue, retryInMs: delay }, 'RabbitMQ connection closed; reconnecting');
        scheduleReconnect();
      });
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
  }

  function scheduleReconnect(): void {
    if (closing || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().then(
        () => {
          delay = RECONNECT_FIRST_MS;
          log.warn({ module: opts.module, queue }, 'RabbitMQ connection restored; taking calls again');
        },
        (err: Error) => {
          delay = Math.min(RECONNECT_MAX_MS, delay * 2);
          log.warn({ module: opts.module, err: err.message, retryInMs: delay }, 'RabbitMQ reconnect failed');
          scheduleReconnect();
        },
      );
    }, delay);
  }

  async function handle(channel: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const call = parseStepCall(msg.content.toString('utf8'));
    const { replyTo, correlationId } = msg.properties;
    if (!call || !replyTo) {
      log.warn({ module: opts.module, queue }, 'dropped a message that is not a Conveyor call');
      return channel.nack(msg, false, false);
    }
    if (call.deadline <= Date.now()) return channel.ack(msg); // nobody waits for it any more
    try {
      const answer = await answerCall(opts.handler, call);
      await confirmSend(channel, replyTo, Buffer.from(JSON.stringify(answer)), {
        contentType: 'application/json',
        correlationId: correlationId ?? correlationIdOf(call),
      });
      channel.ack(msg);
    } catch (err) {
      log.warn({ module: opts.module, err: (err as Error).message }, 'could not reply; the call goes back to the queue');
      try {
        channel.nack(msg, false, true);
      } catch {
        // channel gone: RabbitMQ requeues unacked calls by itself
      }
    }
  }

  await connect();
  return {
    async close() {
      closing = true;
      clearTimeout(retryTimer);
      const link = current;
      if (link) await link.channel.cancel(link.consumerTag).catch(() => {});
      await Promise.all(running);
      if (link) await link.conn.close().catch(() => {});
    },
  };
}

function confirmSend(channel: ConfirmChannel, queue: string, content: Buffer, options: amqp.Options.Publish): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      channel.sendToQueue(queue, content, options, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    } catch (err) {
      reject(err as Error);
    }
  });
}
