import { Type } from 'typebox';

// The `flows` section: where flow files live, how long run history is kept, the size limits that keep
// runs bounded, and how remote modules are reached (local modules need no entry).

const RemoteModuleSchema = Type.Object(
  {
    transport: Type.Union([Type.Literal('http'), Type.Literal('nats'), Type.Literal('rabbitmq')], {
      description: 'How the dispatcher reaches this module: http (POST to url), nats (JetStream subject), rabbitmq (queue)',
    }),
    url: Type.Optional(Type.String({ minLength: 1, description: 'http: the module URL; rabbitmq: amqp://… broker URL' })),
    secret: Type.Optional(Type.String({ minLength: 1, description: 'http: the HMAC key the request body is signed with' })),
    servers: Type.Optional(Type.String({ minLength: 1, description: 'nats: server list, e.g. nats://127.0.0.1:4222' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'Default answer deadline for this module' })),
    safe: Type.Boolean({
      default: false,
      description: 'The module changes nothing outside Conveyor (a lookup, a pure transform): waiting requests may call it before their run is written (flows.safeStepsFirst)',
    }),
  },
  { additionalProperties: false },
);

// The portal the built-in bitrix24.* modules talk to. Either an inbound webhook, or OAuth portal + token
// (which of the two is checked when the modules are built, so both problems are named at start).
const Bitrix24Schema = Type.Object(
  {
    webhookUrl: Type.Optional(Type.String({ minLength: 1, description: 'Inbound webhook https://<portal>/rest/<user id>/<secret>/ (a secret: printed as ***)' })),
    portalUrl: Type.Optional(Type.String({ minLength: 1, description: 'OAuth: the portal address, e.g. https://example.bitrix24.ru (with accessToken)' })),
    accessToken: Type.Optional(Type.String({ minLength: 1, description: 'OAuth: the access token (a secret: printed as ***)' })),
    rateLimit: Type.Optional(
      Type.Object(
        {
          drainPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Requests per second the bucket drains: 2, or 5 on Enterprise' })),
          burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Bucket size: 50, or 250 on Enterprise' })),
          reserve: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Part of the burst left for the portal UI and other apps' })),
        },
        { additionalProperties: false },
      ),
    ),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'Per-request timeout (an outage, retryable); default 60000' })),
    originator: Type.String({ minLength: 1, maxLength: 50, default: 'conveyor', description: 'ORIGINATOR_ID of leads added by bitrix24.add-lead' }),
  },
  { additionalProperties: false },
);

export const FlowsSchema = Type.Object(
  {
    dir: Type.String({ default: './flows', description: 'Folder of flow files (.yaml, .yml, .json, .php) loaded at start; a missing folder means no flows' }),
    publicUrl: Type.Optional(
      Type.String({ minLength: 1, description: 'Base URL at which HTTP modules reach this hub for 202-callbacks, e.g. https://hub.example.com (default http://<http.host>:<http.port>)' }),
    ),
    retentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 14, description: 'Days ended runs and their step history are kept' }),
    requestBytes: Type.Integer({ minimum: 1024, default: 262_144, description: 'Largest intake body (413 above it)' }),
    stepOutputBytes: Type.Integer({ minimum: 1024, default: 262_144, description: 'Largest step output; a larger one fails the step' }),
    contextBytes: Type.Integer({ minimum: 1024, default: 4_194_304, description: 'Largest run context (request + outputs); beyond it the run fails' }),
    historyBytes: Type.Integer({ minimum: 256, default: 16_384, description: 'Step inputs and errors kept in history are cut to this size' }),
    stepTimeoutMs: Type.Integer({ minimum: 1, maximum: 86_400_000, default: 30_000, description: 'Step deadline unless the step sets timeoutMs' }),
    stepCommit: Type.Object(
      {
        maxSteps: Type.Integer({ minimum: 1, maximum: 1000, default: 16, description: 'Most steps recorded in one commit; 1 commits every step on its own' }),
        maxMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200, description: 'A stretch takes no further step once this long has passed since it began' }),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'Steps that follow one another in a run with one live branch are recorded in one commit (a stretch). After a crash the stretch runs again with the same idempotency keys; its steps show in the history once it commits.',
      },
    ),
    safeStepsFirst: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 64,
      description:
        'A request that waits (?wait) runs the first steps of its flow whose modules are safe before its run is written, in the one write that records them; at most this many such requests at once (0: off)',
    }),
    maxWaitMs: Type.Integer({ minimum: 0, maximum: 30_000, default: 30_000, description: 'Upper bound of ?wait= on intake' }),
    modules: Type.Record(Type.String({ minLength: 1 }), RemoteModuleSchema, {
      default: {},
      description: 'Remote modules by name (a subsystem), each with its transport',
    }),
    bitrix24: Type.Optional(Bitrix24Schema),
  },
  { additionalProperties: false, default: {} },
);
