import { Type, type Static } from 'typebox';
import { FlowsSchema } from './flows-schema.js';
import { PluginSchema } from './plugin-schema.js';
import { SchedulerSchema } from './scheduler-schema.js';

// Every key a hub understands. Unknown keys are errors, so a typo is reported instead of ignored.
export const ConfigSchema = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1', description: 'Address to listen on' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8181 }),
        bodyLimitBytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
        allowDefaultAdminPassword: Type.Boolean({
          default: false,
          description: 'Listen on a non-loopback address even though Admin still has the default password',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    database: Type.Object(
      {
        url: Type.String({ default: 'sqlite:./data/conveyor.db', description: 'sqlite:<file> or postgres://…' }),
        poolSize: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal('fatal'),
            Type.Literal('error'),
            Type.Literal('warn'),
            Type.Literal('info'),
            Type.Literal('debug'),
            Type.Literal('trace'),
            Type.Literal('silent'),
          ],
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        cacheTtlMs: Type.Integer({ minimum: 0, default: 30_000 }),
        passwordHashCost: Type.Integer({
          minimum: 10,
          maximum: 20,
          default: 15,
          description: 'log2 of scrypt N for new password hashes: each step doubles time and memory (15 = 32 MiB)',
        }),
        maxFailuresPerUser: Type.Integer({ minimum: 1, default: 5 }),
        maxFailuresPerAddress: Type.Integer({ minimum: 1, default: 20 }),
        lockoutBaseMs: Type.Integer({ minimum: 1, default: 1_000 }),
        lockoutMaxMs: Type.Integer({ minimum: 1, default: 900_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    jobs: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Run job workers in this process' }),
        // Most jobs wait on I/O (remote flow modules, CRM and marketing APIs): a slot held while waiting costs no CPU.
        concurrency: Type.Integer({ minimum: 1, maximum: 100, default: 16 }),
        pollIntervalMs: Type.Integer({ minimum: 10, default: 500 }),
        leaseMs: Type.Integer({ minimum: 1000, default: 60_000 }),
        maxAttempts: Type.Integer({ minimum: 1, default: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
    events: Type.Object(
      {
        retentionDays: Type.Integer({
          minimum: 0,
          maximum: 3650,
          default: 7,
          description: 'Days delivered outbox events are kept before an hourly job deletes them; 0 keeps every event',
        }),
        pruneBatchSize: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 1000,
          description: 'Events deleted per statement when pruning: each batch is one short write, with a turn of the event loop between batches',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    demo: Type.Object(
      {
        seed: Type.Boolean({ default: true, description: 'Seed a small demo directory into an empty database' }),
        clients: Type.Integer({ minimum: 0, maximum: 100_000, default: 300 }),
        flows: Type.Boolean({
          default: true,
          description: 'With the demo on (demo.seed), load the demo flows (examples/flows/demo) when the flows folder (flows.dir) does not exist',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    plugins: Type.Array(Type.String(), {
      default: [],
      description: 'Module paths loaded at start; each may export register(ctx) to add job tasks and subscribers',
    }),
    flows: FlowsSchema,
    // BGERP-compatible sections: the keys of the Roistat plugin document and of BGERP's scheduler.
    plugin: PluginSchema,
    scheduler: SchedulerSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
