import { hostname } from 'node:os';
import type { RawBuilder } from 'kysely';
import type { Clock } from '../clock.js';
import type { Db, SqlDialect } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { withSubscriberClaim } from './claim.js';
import { createHorizon, type Horizon } from './horizon.js';
import { SEEN_REFRESH_MS } from './liveness.js';
import { describeSubscribers, endBackoff, forgetSubscriber, skipStuckEvent, topicsOf, type SubscriberChange, type SubscriberStatus } from './operations.js';
import { createPruner, type Pruner, type PruneOptions } from './retention.js';
import * as store from './store.js';
import { parseTopics, type TopicFilter } from './topics.js';
import type { BatchEventHandler, BatchSubscribeOptions, DomainEvent, EventBus, EventHandler, NewEvent, SubscribeOptions } from './types.js';
import { delay, Wakeup } from './wakeup.js';

export interface EventBusDeps {
  db: Db;
  dialect: SqlDialect;
  log: Logger;
  clock: Clock;
  /** How often to look for new events when nobody pokes (default 200). */
  pollIntervalMs?: number;
  /** Events per delivery round; also the most a crash can make a subscriber see twice (default 100). */
  batchSize?: number;
  /** Retry delay after a handler's first failure, doubling per failure up to retryMaxMs (defaults 1000, 300000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Subscribers delivering at once. On PostgreSQL each holds a pool connection meanwhile (default 4). */
  maxConcurrentDeliveries?: number;
  /**
   * A subscriber backing off re-reads its checkpoint at least this often (default 5000), so an operator's
   * skip or retry made by another process takes effect without waiting out the backoff.
   */
  recheckMs?: number;
  /** How often a running bus tells the checkpoint rows its subscribers are alive (default 60000; see liveness.ts). */
  seenRefreshMs?: number;
  /** This process in the rows it registers (default host:pid). */
  processName?: string;
  /** Pruning warns about a subscriber nobody runs at most this often (default 1 h). */
  heldBackWarningEveryMs?: number;
  /** Events pruning deletes per statement (default 1000). */
  pruneBatchSize?: number;
}

/** The bus plus what tests, shutdown and metrics need. */
export interface ManagedEventBus extends EventBus {
  /** Delivers every event committed before the call to every subscriber; rejects if a handler fails. */
  drain(): Promise<void>;
  /** Matching events each subscriber has not had yet, by subscriber name. */
  lag(): Promise<Record<string, number>>;
  /**
   * Deletes events older than `olderThanMs` that every consumer has passed, in bounded batches; returns
   * how many. Warns now and then about a checkpoint holding them back that no process has run for
   * longer than that. The hub runs it on a schedule (prune-task.ts).
   */
  prune(olderThanMs: number, options?: PruneOptions): Promise<number>;
  /** Every checkpoint row (of this process's subscribers or not), or the one named: lag, backoff, the event it fails on. */
  subscriberStatus(only?: string): Promise<SubscriberStatus[]>;
  /**
   * Operators: moves a failing subscriber past `eventId` if that is exactly the event it fails on, and
   * delivery resumes at once. Runs under the same exclusivity as a delivery round ('busy' if one holds it).
   */
  skip(name: string, eventId: number): Promise<SubscriberChange>;
  /** Operators: ends a failing subscriber's backoff wait, so its next round runs now. */
  retryNow(name: string): Promise<SubscriberChange>;
  /**
   * Operators: deletes the checkpoint of a subscriber no process runs (refused while one registered it
   * recently, unless `force`). A process that still subscribes it starts it again as a new subscriber.
   */
  forget(name: string, force: boolean): Promise<SubscriberChange>;
}

interface Subscriber {
  name: string;
  /** Handles a run of events; returns the id of the last one handled, or throws a BatchFailure. */
  handle: (events: DomainEvent[], keepGoing: () => boolean) => Promise<number | undefined>;
  batchSize: number;
  filter: TopicFilter | undefined;
  fromBeginning: boolean;
  registered: boolean;
  /** Cached checkpoint: the durable one is never lower, so "nothing to do" decided on it is sound. */
  position: number;
  retryAt: number;
  active: boolean;
  /** Serialises batches of this subscriber between the loop and drain(). */
  tail: Promise<unknown>;
}

type BatchResult =
  | { kind: 'busy' } // another process holds the subscriber
  | { kind: 'waiting'; retryAt: number } // backing off after a failure
  | { kind: 'failed'; eventId: number; error: string }
  | { kind: 'done'; more: boolean }
  | { kind: 'forgotten' }; // an operator deleted its checkpoint: register it again

export function createEventBus(deps: EventBusDeps): ManagedEventBus {
  return new OutboxEventBus(deps);
}

class OutboxEventBus implements ManagedEventBus {
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly horizon: Horizon;
  private readonly wakeup = new Wakeup();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxConcurrent: number;
  private readonly recheckMs: number;
  private readonly seenRefreshMs: number;
  private readonly processName: string;
  private readonly pruner: Pruner;
  private nextSeenRefresh = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private raisedFromCheckpoints = false;
  private scanFrom = 0;

  constructor(private readonly deps: EventBusDeps) {
    this.horizon = createHorizon(deps.db, deps.dialect.name);
    this.pollIntervalMs = deps.pollIntervalMs ?? 200;
    this.batchSize = deps.batchSize ?? 100;
    this.retryBaseMs = deps.retryBaseMs ?? 1000;
    this.retryMaxMs = deps.retryMaxMs ?? 300_000;
    this.maxConcurrent = deps.maxConcurrentDeliveries ?? 4;
    this.recheckMs = deps.recheckMs ?? 5000;
    this.seenRefreshMs = deps.seenRefreshMs ?? SEEN_REFRESH_MS;
    this.processName = deps.processName ?? `${hostname()}:${process.pid}`;
    this.pruner = createPruner(deps);
  }

  publish(trx: Db, event: NewEvent | readonly NewEvent[]): Promise<void> {
    return store.insertEvent(trx, event, this.deps.clock.now());
  }

  publishStatement(event: NewEvent | readonly NewEvent[], onlyIf?: RawBuilder<unknown>) {
    return store.eventInsert(event, this.deps.clock.now(), onlyIf);
  }

  subscribe(name: string, handler: EventHandler, options: SubscribeOptions = {}): void {
    this.add(name, options, this.batchSize, async (events, keepGoing) => {
      let last: number | undefined;
      for (const event of events) {
        if (!keepGoing()) break;
        try {
          await handler(event);
        } catch (err) {
          throw new BatchFailure(event, err, last);
        }
        last = event.id;
      }
      return last;
    });
  }

  subscribeBatch(name: string, handler: BatchEventHandler, options: BatchSubscribeOptions = {}): void {
    const size = options.batchSize ?? this.batchSize;
    if (!Number.isInteger(size) || size < 1) throw new Error(`subscriber ${name}: batchSize must be a positive integer`);
    this.add(name, options, size, async (events) => {
      if (events.length === 0) return undefined;
      try {
        await handler(events);
      } catch (err) {
        throw new BatchFailure(events[0]!, err, undefined);
      }
      return events[events.length - 1]!.id;
    });
  }

  private add(name: string, options: SubscribeOptions, batchSize: number, handle: Subscriber['handle']): void {
    if (!name) throw new Error('a subscriber needs a name');
    if (this.subscribers.has(name)) throw new Error(`subscriber ${name} is already registered`);
    this.subscribers.set(name, {
      name,
      handle,
      batchSize,
      filter: parseTopics(options.topics),
      fromBeginning: options.fromBeginning ?? false,
      registered: false,
      position: 0,
      retryAt: 0,
      active: false,
      tail: Promise.resolve(),
    });
    this.wakeup.notify();
  }

  poke(): void {
    this.wakeup.notify();
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    await this.register(); // a broken database fails start() rather than the background loop
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeup.notify();
    await this.loop;
    await Promise.allSettled([...this.inflight]);
    this.loop = undefined;
  }

  async drain(): Promise<void> {
    await this.register();
    const target = await store.maxEventId(this.deps.db);
    // A hole below the target closes when the transactions that could fill it end.
    while ((await this.horizon.refresh()) < target) await delay(10);
    await Promise.all([...this.subscribers.values()].map((s) => this.drainOne(s, target)));
  }

  async lag(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const s of this.subscribers.values()) {
      const row = await store.readConsumer(this.deps.db, s.name);
      out[s.name] = row ? await store.countEventsAfter(this.deps.db, row.lastEventId, s.filter) : 0;
    }
    return out;
  }

  prune(olderThanMs: number, options?: PruneOptions): Promise<number> {
    return this.pruner(olderThanMs, options);
  }

  // ---- operators ----

  subscriberStatus(only?: string): Promise<SubscriberStatus[]> {
    return describeSubscribers(this.deps.db, (name) => this.subscribers.get(name), (failures) => this.backoff(failures), this.deps.clock.now(), only);
  }

  skip(name: string, eventId: number): Promise<SubscriberChange> {
    return this.operate(name, (conn, s) => skipStuckEvent(conn, name, s, eventId, this.deps.clock.now()));
  }

  retryNow(name: string): Promise<SubscriberChange> {
    return this.operate(name, (conn) => endBackoff(conn, name, this.deps.clock.now()));
  }

  forget(name: string, force: boolean): Promise<SubscriberChange> {
    return this.operate(name, (conn) => forgetSubscriber(conn, name, this.deps.clock.now(), force));
  }

  /**
   * An operator's change under the delivery's exclusivity: this process's serialisation of the
   * subscriber plus the cross-process claim. Resets the in-memory wait and wakes delivery after it.
   */
  private async operate(name: string, change: (conn: Db, s: Subscriber | undefined) => Promise<SubscriberChange>): Promise<SubscriberChange> {
    const { db, dialect } = this.deps;
    const s = this.subscribers.get(name);
    if (s?.active) return { kind: 'busy' };
    const claimed = () => withSubscriberClaim(db, dialect.name, name, (conn) => change(conn, s));
    const outcome = (await (s ? this.exclusive(s, claimed) : claimed())) ?? { kind: 'busy' };
    if (s && (outcome.kind === 'skipped' || outcome.kind === 'retrying' || outcome.kind === 'forgotten')) {
      if (outcome.kind === 'skipped') s.position = outcome.event.id;
      if (outcome.kind === 'forgotten') s.registered = false; // forced: the loop registers it again as new
      s.retryAt = 0;
      this.wakeup.notify();
    }
    return outcome;
  }

  // ---- delivery loop ----

  private async run(): Promise<void> {
    while (!this.stopping) {
      // Nobody to deliver to: every commit that published would otherwise cost a read of the horizon.
      // subscribe() wakes the loop.
      if (this.subscribers.size === 0) {
        await this.wakeup.sleep(this.nextPollIn());
        continue;
      }
      try {
        await this.register();
        await this.refreshSeen();
        const safe = await this.horizon.refresh();
        const now = this.deps.clock.now();
        // Start the scan one further each round, so the concurrency cap cannot starve the last ones.
        const all = [...this.subscribers.values()];
        this.scanFrom = (this.scanFrom + 1) % Math.max(1, all.length);
        for (let i = 0; i < all.length; i++) {
          const s = all[(this.scanFrom + i) % all.length]!;
          if (this.stopping || this.inflight.size >= this.maxConcurrent) break;
          if (s.registered && !s.active && s.position < safe && s.retryAt <= now) this.launch(s);
        }
      } catch (err) {
        this.deps.log.error({ err }, 'event bus poll failed');
      }
      if (!this.stopping) await this.wakeup.sleep(this.nextPollIn());
    }
  }

  private launch(s: Subscriber): void {
    s.active = true;
    const task = this.exclusive(s, () => this.deliverBatch(s, () => !this.stopping))
      .then((r) => {
        // Go round again at once when there is more, or someone may be waiting for a free slot.
        if ((r.kind === 'done' && r.more) || r.kind === 'forgotten' || this.inflight.size >= this.maxConcurrent) this.wakeup.notify();
      })
      .catch((err) => {
        s.retryAt = this.deps.clock.now() + this.pollIntervalMs;
        this.deps.log.error({ err, subscriber: s.name }, 'event delivery failed');
      })
      .finally(() => {
        s.active = false;
        this.inflight.delete(task);
      });
    this.inflight.add(task);
  }

  private nextPollIn(): number {
    const now = this.deps.clock.now();
    let wait = this.pollIntervalMs;
    for (const s of this.subscribers.values()) if (s.retryAt > now) wait = Math.min(wait, s.retryAt - now);
    return wait;
  }

  private async drainOne(s: Subscriber, target: number): Promise<void> {
    while (s.position < target) {
      const r = await this.exclusive(s, () => this.deliverBatch(s, () => true));
      if (r.kind === 'failed') throw new Error(`subscriber ${s.name} failed on event ${r.eventId}: ${r.error}`);
      if (r.kind === 'busy') await delay(Math.min(this.pollIntervalMs, 20));
      if (r.kind === 'waiting') await delay(Math.max(1, r.retryAt - this.deps.clock.now()));
      if (r.kind === 'forgotten') await this.register();
    }
  }

  private exclusive<T>(s: Subscriber, fn: () => Promise<T>): Promise<T> {
    const run = s.tail.then(fn, fn);
    s.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Creates checkpoints for new subscribers (at the safe id, or 0 when fromBeginning) and records their
   * filter and this process on the row, new or not.
   */
  private async register(): Promise<void> {
    const pending = [...this.subscribers.values()].filter((s) => !s.registered);
    if (pending.length === 0) return;
    if (!this.raisedFromCheckpoints) {
      // Any checkpoint was a safe id when written: start the horizon there, not at 0.
      this.horizon.raise(await store.maxCheckpoint(this.deps.db));
      this.raisedFromCheckpoints = true;
    }
    for (const s of pending) {
      const start = s.fromBeginning ? 0 : await this.horizon.refresh();
      await store.registerConsumer(this.deps.db, s.name, start, { topics: topicsOf(s.filter), now: this.deps.clock.now(), by: this.processName });
      const row = await store.readConsumer(this.deps.db, s.name);
      s.position = row?.lastEventId ?? start;
      s.retryAt = row && row.failures > 0 ? this.recheckBy(row.updatedAt + this.backoff(row.failures)) : 0;
      s.registered = true;
    }
    this.nextSeenRefresh = this.deps.clock.now() + this.seenRefreshMs;
  }

  /** Now and then (not per event): tells the rows this process still runs their subscribers. */
  private async refreshSeen(): Promise<void> {
    const now = this.deps.clock.now();
    if (now < this.nextSeenRefresh) return;
    this.nextSeenRefresh = now + this.seenRefreshMs;
    const mine = [...this.subscribers.values()].filter((s) => s.registered);
    const seen = await store.markConsumersSeen(this.deps.db, mine.map((s) => s.name), now, this.processName);
    if (seen === mine.length) return;
    const rows = new Set((await store.readConsumers(this.deps.db)).map((r) => r.name));
    for (const s of mine) if (!rows.has(s.name)) this.forgottenMeanwhile(s);
  }

  /**
   * One round for one subscriber: under the claim, read the durable checkpoint, hand the next
   * events up to the safe id to the handler one by one, and save the checkpoint once at the end.
   * A failing handler stops the round at that event (order before progress) and records the error.
   */
  private async deliverBatch(s: Subscriber, keepGoing: () => boolean): Promise<BatchResult> {
    const { db, dialect, clock, log } = this.deps;
    const safe = this.horizon.current();
    const result = await withSubscriberClaim(db, dialect.name, s.name, async (conn): Promise<BatchResult> => {
      const row = await store.readConsumer(conn, s.name);
      if (!row) return this.forgottenMeanwhile(s);
      s.position = row.lastEventId;
      this.horizon.raise(row.lastEventId);
      if (row.failures > 0) {
        const retryAt = row.updatedAt + this.backoff(row.failures);
        if (clock.now() < retryAt) {
          s.retryAt = this.recheckBy(retryAt);
          return { kind: 'waiting', retryAt };
        }
      }
      const events = await store.readEvents(conn, { after: row.lastEventId, upTo: safe, filter: s.filter, limit: s.batchSize });
      let position = row.lastEventId;
      try {
        position = (await s.handle(events, keepGoing)) ?? position;
      } catch (caught) {
        if (!(caught instanceof BatchFailure)) throw caught;
        const { event, reason: cause } = caught;
        position = caught.handledUpTo ?? position;
        const failures = row.failures + 1;
        const error = describe(cause);
        if (!(await store.saveConsumer(conn, s.name, { lastEventId: position, updatedAt: clock.now(), failures, lastError: error }, row))) return this.changedMeanwhile(s);
        s.position = position;
        s.retryAt = this.recheckBy(clock.now() + this.backoff(failures));
        log.error(
          { err: cause, subscriber: s.name, eventId: event.id, topic: event.topic, failures, retryInMs: this.backoff(failures) },
          'event handler failed; the subscriber waits at this event',
        );
        return { kind: 'failed', eventId: event.id, error };
      }
      const complete = events.length < s.batchSize && keepGoing();
      // Everything matching up to the safe id was handled: skip past the filtered-out rest too.
      if (complete) position = Math.max(position, safe);
      if (position !== row.lastEventId || row.failures > 0) {
        if (!(await store.saveConsumer(conn, s.name, { lastEventId: position, updatedAt: clock.now(), failures: 0, lastError: null }, row))) return this.changedMeanwhile(s);
      }
      s.position = position;
      s.retryAt = 0;
      return { kind: 'done', more: !complete };
    });
    if (!result) {
      s.retryAt = clock.now() + this.pollIntervalMs;
      return { kind: 'busy' };
    }
    return result;
  }

  /** An operator changed the checkpoint during this round (from another process): drop the outcome, read it again. */
  private changedMeanwhile(s: Subscriber): BatchResult {
    this.deps.log.warn({ subscriber: s.name }, 'the checkpoint was changed by an operator during delivery; reading it again');
    s.retryAt = 0;
    return { kind: 'done', more: true };
  }

  /** An operator forgot (deleted) the checkpoint of a subscriber this process still runs: it starts again as new. */
  private forgottenMeanwhile(s: Subscriber): BatchResult {
    this.deps.log.warn({ subscriber: s.name }, 'an operator forgot the checkpoint of a subscriber this process runs; it starts again as a new subscriber');
    s.registered = false;
    s.retryAt = 0;
    return { kind: 'forgotten' };
  }

  /** The in-memory wait of a backing-off subscriber, capped so it re-reads its row (see recheckMs). */
  private recheckBy(retryAt: number): number {
    return Math.min(retryAt, this.deps.clock.now() + this.recheckMs);
  }

  private backoff(failures: number): number {
    return Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(30, failures - 1));
  }
}

/** A handler threw at `event`; the events before it (up to handledUpTo) were handled. */
class BatchFailure extends Error {
  constructor(
    readonly event: DomainEvent,
    readonly reason: unknown,
    readonly handledUpTo: number | undefined,
  ) {
    super('event handler failed');
  }
}

function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.slice(0, 2000);
}
