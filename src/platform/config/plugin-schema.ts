import { Type } from 'typebox';

// The keys of the BGERP Roistat plugin document (seed 000), under the same dotted names, with its defaults.
// Only shapes live here; rules that span keys (required when enabled, comma lists, providers per deal
// type, scheduler classes) are checked by checkRoistatConfig in src/sync/targets/roistat/settings.ts.

const ParamId = Type.Integer({ minimum: 1, description: 'Numeric id of a client parameter' });
/** "1, 2,3" as BGERP writes it, a single id, or a YAML list. */
const idList = (description: string) =>
  Type.Union([Type.String(), Type.Integer({ minimum: 1 }), Type.Array(Type.Integer({ minimum: 1 }))], { description });
const NumericKey = Type.String({ pattern: '^[0-9]+$' });
const Text = Type.Union([Type.String(), Type.Number()]);

const ClientSchema = Type.Object(
  {
    customer: Type.Optional(
      Type.Object(
        { groups: Type.Optional(idList('Client groups that are synced; unset = every client')) },
        { additionalProperties: false },
      ),
    ),
    details: Type.Object(
      {
        provider: Type.String({ default: 'common', description: "'common' or a module path exporting a client details provider" }),
        common: Type.Optional(
          Type.Object(
            {
              customer: Type.Optional(
                Type.Object(
                  {
                    phone: Type.Optional(ParamId),
                    email: Type.Optional(ParamId),
                    company: Type.Optional(ParamId),
                    birthDate: Type.Optional(ParamId),
                    fields: Type.Optional(Type.Record(Type.String(), ParamId)),
                  },
                  { additionalProperties: false },
                ),
              ),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const ProviderSchema = Type.Object({ provider: Type.String() }, { additionalProperties: false });

const OrderSchema = Type.Object(
  {
    process: Type.Optional(
      Type.Object({ types: Type.Optional(idList('Deal (process) types that are synced; unset = none')) }, { additionalProperties: false }),
    ),
    details: Type.Optional(ProviderSchema),
    type: Type.Optional(
      Type.Record(NumericKey, Type.Object({ details: ProviderSchema }, { additionalProperties: false }), { additionalProperties: false }),
    ),
    resend: Type.Object(
      { enabled: Type.Boolean({ default: false, description: 'Hourly re-send of deals changed in the last 24 hours' }) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const StatusSchema = Type.Object(
  { id: Type.Optional(Text), title: Type.Optional(Text), type: Type.Optional(Text) },
  { additionalProperties: false },
);

export const RoistatSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    project: Type.Optional(Type.Union([Type.String(), Type.Integer()], { description: 'Roistat project number' })),
    apiKey: Type.String({ default: '', description: 'Roistat API key (secret; env ROISTAT_API_KEY)' }),
    baseUrl: Type.String({ format: 'uri', default: 'https://cloud.roistat.com/api/v1' }),
    // Our share of the project's budget, which Roistat counts per project (10/s, 5000/h) for every caller.
    rateLimit: Type.Object(
      {
        perSecond: Type.Integer({ minimum: 1, maximum: 10, default: 5 }),
        perHour: Type.Integer({ minimum: 1, maximum: 5000, default: 2500 }),
      },
      { additionalProperties: false, default: {} },
    ),
    batchSize: Type.Integer({ minimum: 1, maximum: 100, default: 100 }),
    historyDays: Type.Integer({ minimum: 1, default: 30 }),
    client: ClientSchema,
    order: OrderSchema,
    status: Type.Optional(Type.Record(NumericKey, StatusSchema, { additionalProperties: false })),
  },
  { additionalProperties: false, default: {} },
);

export const PluginSchema = Type.Object({ roistat: RoistatSchema }, { additionalProperties: false, default: {} });
