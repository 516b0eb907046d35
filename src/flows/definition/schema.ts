import { Type, type Static } from 'typebox';

/**
 * The flow file format (YAML or JSON) and the API object are the same schema. Field names follow the
 * route structure of the 001 settings (`id`, `subsystem`, `next`, `prev`, `condition` with
 * `field`/`operation`/`value`/`success`/`result`). Lists stay lists, as in 001, so there is one spelling.
 * Unknown keys are errors: a misspelt `conditon` must not silently drop a route.
 */

const StepIds = (description: string) => Type.Array(Type.String({ minLength: 1 }), { description });

export const ConditionSchema = Type.Cyclic(
  {
    Condition: Type.Object(
      {
        field: Type.String({ minLength: 1, description: 'Dot path into the run context: `<step id>.<key>…` or `request.<key>…`' }),
        operation: Type.String({ description: 'empty, exists, equals, in, gt, gte, lt, lte, contains, regex; `!|` in front negates' }),
        value: Type.Optional(Type.Unknown({ description: 'The operand of equals/in/gt/gte/lt/lte/contains/regex' })),
        success: Type.Optional(Type.Array(Type.Ref('Condition'), { description: 'Checked, in order, only when this condition holds' })),
        result: Type.Optional(StepIds('Next step(s) when this condition (and no nested success route) holds; [] ends the branch')),
      },
      { additionalProperties: false },
    ),
  },
  'Condition',
);

export const RetrySchema = Type.Object(
  {
    attempts: Type.Integer({ minimum: 1, maximum: 100, description: 'Attempts in all, the first included' }),
    backoffMs: Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'Wait before the second attempt; doubles after each' }),
  },
  { additionalProperties: false },
);

export const StepSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ description: 'Repeats the key, as in 001; must equal it when given' })),
    subsystem: Type.String({ minLength: 1, description: 'The module that does this step' }),
    next: Type.Optional(StepIds('Next step(s) when no condition gives a route; several run in parallel')),
    prev: Type.Optional(StepIds('Steps that lead here (documentation, checked to exist)')),
    condition: Type.Optional(Type.Array(ConditionSchema, { description: 'Checked in order; the first that gives a route wins' })),
    input: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        description: 'What the module receives: key → context path. Absent: the whole run context',
      }),
    ),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Module settings (url, fields, …), given to the module as is' })),
    retry: Type.Optional(RetrySchema),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000 })),
    onError: Type.Optional(Type.String({ minLength: 1, description: 'Step to run when this step fails after its retries' })),
  },
  { additionalProperties: false },
);

export const INTAKE_MODES = ['immediate', 'rate', 'batch', 'cron'] as const;

export const IntakeSchema = Type.Object(
  {
    mode: Type.Enum([...INTAKE_MODES], { description: 'immediate; rate (limit per perMs, excess buffered); batch (size and/or everyMs); cron' }),
    limit: Type.Optional(Type.Integer({ minimum: 1 })),
    perMs: Type.Optional(Type.Integer({ minimum: 1 })),
    size: Type.Optional(Type.Integer({ minimum: 1 })),
    everyMs: Type.Optional(Type.Integer({ minimum: 1 })),
    cron: Type.Optional(Type.String({ minLength: 1 })),
    timezone: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const FlowDefinitionSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 100 }),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'Defaults to 1; a run records the version it started on' })),
    name: Type.Optional(Type.String({ description: 'Defaults to the id' })),
    description: Type.Optional(Type.String()),
    start: Type.Optional(StepIds('Step(s) a run begins with; default: the first step listed')),
    onError: Type.Optional(Type.String({ minLength: 1, description: 'Step to run when a step without its own onError fails' })),
    intake: Type.Optional(IntakeSchema),
    steps: Type.Record(Type.String(), StepSchema, { description: 'Steps keyed by id, in the order they are listed' }),
  },
  { additionalProperties: false },
);

export type ConditionDefinition = {
  field: string;
  operation: string;
  value?: unknown;
  success?: ConditionDefinition[];
  result?: string[];
};
export type StepDefinition = Omit<Static<typeof StepSchema>, 'condition'> & { condition?: ConditionDefinition[] };
export type IntakePolicy = Static<typeof IntakeSchema>;
export type RetryPolicy = Static<typeof RetrySchema>;
export type FlowDefinition = Omit<Static<typeof FlowDefinitionSchema>, 'steps'> & { steps: Record<string, StepDefinition> };
