import { adminHasDefaultPassword } from '../directory/index.js';
import { createHub } from '../hub.js';
import type { Config } from '../platform/config/index.js';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** `conveyor start`: the API, event delivery and (unless disabled) job workers in one process. */
export async function startCommand(config: Readonly<Config>): Promise<void> {
  const hub = await createHub(config);
  const { ctx } = hub;
  if (!isLoopback(config.http.host) && (await adminHasDefaultPassword(ctx))) {
    if (!config.http.allowDefaultAdminPassword) {
      await hub.close();
      throw new Error(
        `Refusing to listen on ${config.http.host}: the user Admin still has the default password "admin". ` +
          'Change it first (conveyor users passwd Admin), or start with --allow-default-admin-password if you really mean it.',
      );
    }
    ctx.log.warn('!!! LISTENING ON A NON-LOOPBACK ADDRESS WHILE Admin HAS THE DEFAULT PASSWORD "admin" — ANYONE WHO CAN REACH THIS PORT IS AN ADMIN !!!');
  }
  const { app } = await hub.buildApp();
  await app.listen({ host: config.http.host, port: config.http.port });
  await hub.startBackground();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  ctx.log.info({ url: `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`, database: ctx.database.description }, 'Conveyor hub listening');
  onShutdown(async () => {
    await app.close();
    await hub.close();
  }, ctx.log);
}

/** `conveyor worker`: job workers and event delivery, no HTTP. Needs a database shared with the API. */
export async function workerCommand(config: Readonly<Config>): Promise<void> {
  if (!config.database.url.startsWith('postgres')) {
    throw new Error('conveyor worker needs PostgreSQL (DATABASE_URL=postgres://…): the embedded SQLite database belongs to one process');
  }
  const hub = await createHub({ ...config, jobs: { ...config.jobs, enabled: true } }, { demo: false });
  await hub.startBackground();
  hub.ctx.log.info({ database: hub.ctx.database.description }, 'Conveyor worker running');
  onShutdown(() => hub.close(), hub.ctx.log);
}

function onShutdown(close: () => Promise<void>, log: { info: (o: object, m: string) => void; error: (o: object, m: string) => void }): void {
  let closing = false;
  const handler = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
