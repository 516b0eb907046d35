import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * One NATS connection per server list and role in a process, shared by all its module transports (role
 * `conveyor-hub`) or all the modules it serves (`conveyor-modules`). nats.js writes a connection's
 * pending messages once per microtask turn: with a connection per module, the calls of one turn went out
 * in as many socket writes (and the server and parser had as many connections to serve). Each user
 * removes its own subscriptions; the last one to release drains the connection.
 */
export interface SharedConnection {
  readonly nc: NatsConnection;
  /**
   * Runs `publish` (which publishes on nc) at the end of this event-loop turn, together with what every
   * user of the connection queued this turn: nats.js then writes them all in one socket write. It writes
   * once per microtask turn, and a run's calls, replies and acks come from promise chains that each end
   * in their own turn — as many writes, each a syscall costing more than the message.
   */
  soon<T>(publish: () => T): Promise<T>;
  /** Sends what this user published, and closes the connection if nobody else uses it. */
  release(): Promise<void>;
}

interface Entry {
  connection: Promise<NatsConnection>;
  users: number;
  queued: (() => void)[];
}

function runQueued(entry: Entry): void {
  for (const publish of entry.queued.splice(0)) publish();
}

const open = new Map<string, Entry>();

export async function shareConnection(servers: string, role: 'conveyor-hub' | 'conveyor-modules'): Promise<SharedConnection> {
  const key = `${role} ${servers}`;
  let entry = open.get(key);
  if (!entry || (await isClosed(entry))) {
    const fresh: Entry = { connection: connectTo(servers, role), users: 0, queued: [] };
    fresh.connection.catch(() => open.get(key) === fresh && open.delete(key));
    open.set(key, (entry = fresh));
  }
  entry.users++;
  let nc: NatsConnection;
  try {
    nc = await entry.connection;
  } catch (err) {
    entry.users--;
    throw err;
  }
  const used = entry;
  let released = false;
  return {
    nc,
    soon<T>(publish: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (used.queued.length === 0) setImmediate(runQueued, used);
        used.queued.push(() => {
          try {
            resolve(publish());
          } catch (err) {
            reject(err);
          }
        });
      });
    },
    async release() {
      if (released) return;
      released = true;
      runQueued(used);
      if (--used.users > 0) return void (await nc.flush());
      if (open.get(key) === used) open.delete(key);
      await nc.drain();
    },
  };
}

async function isClosed(entry: Entry): Promise<boolean> {
  try {
    return (await entry.connection).isClosed();
  } catch {
    return true;
  }
}

function connectTo(servers: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    // Otherwise every request and JetStream publish builds two Error objects with stack traces up front
    // (a tenth of the hub's CPU with steps over NATS); their messages, all a StepError keeps, stay.
    noAsyncTraces: true,
  });
}

/** How many users hold the shared connection of this role to these servers (0: none open). */
export function connectionUsers(servers: string, role: 'conveyor-hub' | 'conveyor-modules'): number {
  return open.get(`${role} ${servers}`)?.users ?? 0;
}
