import { Type } from 'typebox';

// BGERP's scheduler.task.<id>.* keys. Roistat registrars read period and syncInterval from their own
// task (as the 2019 ConfigurableTask did); the cron fields are accepted so BGERP files load, and unused.
const CronField = Type.String({ description: 'UNIX cron field as BGERP writes it (unused by the Roistat registrars)' });

export const SchedulerTaskSchema = Type.Object(
  {
    class: Type.Optional(Type.String({ description: 'Task class, full BGERP name or short name' })),
    period: Type.Integer({ minimum: 1, default: 500, description: 'Pause between registration runs, ms' }),
    syncInterval: Type.Number({ minimum: 0, default: 1, description: 'Hours since the last failed attempt before a retry' }),
    enable: Type.Boolean({ default: true }),
    minutes: Type.Optional(CronField),
    hours: Type.Optional(CronField),
    dm: Type.Optional(CronField),
    month: Type.Optional(CronField),
    dw: Type.Optional(CronField),
  },
  { additionalProperties: false },
);

export const SchedulerSchema = Type.Object(
  { task: Type.Record(Type.String(), SchedulerTaskSchema, { default: {} }) },
  { additionalProperties: false, default: {} },
);
