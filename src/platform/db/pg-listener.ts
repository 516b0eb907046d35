import pg from 'pg';

export interface PgListenOptions {
  /** A plain identifier: letters, digits and _. */
  channel: string;
  onNotify(payload: string): void;
  /**
   * LISTEN took effect (again). Whatever was notified while this process was not listening was lost:
   * a caller that must not miss anything checks the state it listens for here.
   */
  onListening?(reconnected: boolean): void;
  /** The connection failed or dropped; the next attempt is in `retryInMs`. */
  onError?(err: unknown, retryInMs: number): void;
  /** Reconnect delays: `firstMs`, doubling up to `maxMs`. */
  backoff?: { firstMs: number; maxMs: number };
}

export interface PgListener {
  /** Settles after the first attempt to listen, whether it worked or not (it is retried then). */
  readonly ready: Promise<void>;
  /** Stops listening and reconnecting; the connection is closed when this resolves. */
  close(): Promise<void>;
}

const BACKOFF = { firstMs: 100, maxMs: 10_000 };
/** close() waits at most this long for a connection being made, or being ended. */
const CLOSE_WAIT_MS = 2000;

/**
 * LISTEN on one dedicated connection (not the pool's: a pooled connection is handed to other work and
 * a notification arrives only on the session that listens). A dropped connection is made again with
 * backoff until close().
 */
export function listenPg(newClient: () => pg.Client, o: PgListenOptions): PgListener {
  if (!/^[a-z_][a-z0-9_]*$/i.test(o.channel)) throw new Error(`not a plain channel name: ${o.channel}`);
  const { firstMs, maxMs } = o.backoff ?? BACKOFF;
  let closed = false;
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let listenedBefore = false;
  let connecting: Promise<void> | undefined;
  let settleReady!: () => void;
  const ready = new Promise<void>((resolve) => (settleReady = resolve));

  function start(): void {
    retryTimer = undefined;
    connecting = connect().finally(() => (connecting = undefined));
  }

  async function connect(): Promise<void> {
    if (closed) return settleReady();
    let c: pg.Client;
    try {
      c = newClient();
    } catch (err) {
      retryLater(err);
      return settleReady();
    }
    client = c;
    let lost = false;
    const drop = (err: unknown) => {
      if (lost) return;
      lost = true;
      if (client === c) client = undefined;
      void c.end().catch(() => undefined);
      if (!closed) retryLater(err);
    };
    // Kept for the client's whole life: pg emits 'error' on a dropped connection, even while ending.
    c.on('error', drop);
    c.on('end', () => drop(new Error('the listening connection ended')));
    c.on('notification', (m) => {
      if (!lost && !closed && m.channel === o.channel && m.payload !== undefined) o.onNotify(m.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${o.channel}`);
    } catch (err) {
      drop(err);
      return settleReady();
    }
    if (closed) {
      // close() came while connecting: it waited for this attempt, which ends what it made.
      lost = true;
      await c.end().catch(() => undefined);
      return settleReady();
    }
    if (lost) return settleReady();
    failures = 0;
    const reconnected = listenedBefore;
    listenedBefore = true;
    settleReady();
    o.onListening?.(reconnected);
  }

  function retryLater(err: unknown): void {
    const delay = Math.min(maxMs, firstMs * 2 ** Math.min(failures++, 30));
    o.onError?.(err, delay);
    retryTimer = setTimeout(start, delay);
  }

  start();
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      await bounded(connecting);
      const c = client;
      client = undefined;
      if (c) await bounded(c.end().catch(() => undefined));
    },
  };
}

/** Waits for `work`, but no longer than CLOSE_WAIT_MS (a server that stopped answering must not hold a shutdown). */
async function bounded(work: Promise<unknown> | undefined): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
  clearTimeout(timer);
}
