import { Command } from 'commander';
import { ConfigError, loadConfig, redactConfig, type LoadOptions } from '../platform/config/index.js';
import { migrateToLatest, openDatabase } from '../platform/db/index.js';
import { MIGRATIONS } from '../hub.js';
import { registerFlowCommands } from './flow.js';
import { registerOpsCommands } from './ops.js';
import { registerRunCommands } from './runs.js';
import { startCommand, workerCommand } from './start.js';
import { usersAdd, usersList, usersPasswd } from './users.js';

const program = new Command('conveyor')
  .description('Conveyor: integration hub for customer data and communications')
  .option('-c, --config <file>', 'config file (YAML, JSON or .properties); default ./conveyor.yaml if present')
  .option('--database <url>', 'sqlite:<file> or postgres://… (overrides DATABASE_URL)')
  .showHelpAfterError();

function config(extra: Record<string, unknown> = {}) {
  const opts = program.opts<{ config?: string; database?: string }>();
  const overrides: LoadOptions['overrides'] = { ...extra };
  if (opts.database) overrides.database = { url: opts.database };
  return loadConfig({ file: opts.config, overrides });
}

program
  .command('start')
  .description('run the hub: HTTP API on port 8181, event delivery and job workers')
  .option('--host <host>', 'address to listen on')
  .option('--port <port>', 'port to listen on', (v) => Number(v))
  .option('--no-demo', 'do not seed the demo directory into an empty database')
  .option('--no-jobs', 'do not run job workers in this process')
  .option('--allow-default-admin-password', 'listen on a non-loopback address even while Admin has the default password')
  .action(async (o: { host?: string; port?: number; demo: boolean; jobs: boolean; allowDefaultAdminPassword?: boolean }) => {
    const http: Record<string, unknown> = {};
    if (o.host) http.host = o.host;
    if (o.port !== undefined) http.port = o.port;
    if (o.allowDefaultAdminPassword) http.allowDefaultAdminPassword = true;
    const extra: Record<string, unknown> = { http };
    if (!o.demo) extra.demo = { seed: false };
    if (!o.jobs) extra.jobs = { enabled: false };
    await startCommand(config(extra));
  });

program
  .command('worker')
  .description('run job workers and event delivery only (PostgreSQL; as many as you like beside `start`)')
  .action(async () => workerCommand(config()));

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    const cfg = config();
    const database = openDatabase(cfg.database.url);
    try {
      const { applied } = await migrateToLatest(database, MIGRATIONS);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await database.close();
    }
  });

program
  .command('config')
  .description('check the configuration and print it (secrets redacted)')
  .action(() => {
    console.log(JSON.stringify(redactConfig(config()), null, 2));
  });

const users = program.command('users').description('manage employees who can sign in');
users.command('list').description('list employees and their roles').action(async () => usersList(config()));
users
  .command('passwd <username>')
  .description('set a password (read from stdin or CONVEYOR_NEW_PASSWORD)')
  .action(async (username: string) => usersPasswd(config(), username));
users
  .command('add <username>')
  .description('add an employee (password from stdin or CONVEYOR_NEW_PASSWORD)')
  .option('--role <name>', 'role to assign', 'Администратор')
  .action(async (username: string, o: { role: string }) => usersAdd(config(), username, o.role));

registerFlowCommands(program, () => config());
registerOpsCommands(program, () => config());
registerRunCommands(program, () => config());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`conveyor: ${(err as Error).message}`);
  process.exit(1);
}
