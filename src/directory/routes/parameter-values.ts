import { Type } from 'typebox';
import type { HubContext } from '../../platform/context.js';
import type { HubApp } from '../../platform/http/index.js';
import { IdParams } from '../crud/schemas.js';
import { readParameterValues, writeParameterValues } from '../clients/parameter-store.js';
import { MAX_TEXT } from '../clients/parameter-values.js';
import type { DirectoryServices } from '../registry.js';

const Values = Type.Object(
  {},
  { additionalProperties: Type.Union([Type.String(), Type.Number()]), description: 'Values by parameter id, e.g. {"1": "+79991234567", "4": "1995-06-02"}' },
);
const Patch = Type.Object(
  {},
  {
    additionalProperties: Type.Unknown(),
    maxProperties: 500,
    description:
      'Values by parameter id; null removes a value. phone → E.164, email, text (≤ ' +
      `${MAX_TEXT} characters), date → YYYY-MM-DD, number, list (one of the options). Every bad key is reported at once (422).`,
  },
);

/** GET/PUT /<entities>/:id/parameters for the entity types custom parameters exist for. */
export function registerParameterValueRoutes(app: HubApp, ctx: HubContext, services: DirectoryServices): void {
  for (const name of ['client', 'company', 'deal'] as const) {
    const service = services[name];
    const { def } = service;
    const label = def.label.toLowerCase();
    app.get(
      `${def.path}/:id/parameters`,
      { config: { permission: def.permissions.read }, schema: { tags: [def.tag, 'parameters'], summary: `Custom parameter values of a ${label}`, params: IdParams, response: { 200: Values } } },
      async (request) => {
        const { id } = request.params as { id: number };
        await service.get(id, request.principal);
        return readParameterValues(ctx.db, name, id);
      },
    );
    app.put(
      `${def.path}/:id/parameters`,
      {
        config: { permission: def.permissions.write },
        schema: {
          tags: [def.tag, 'parameters'],
          summary: `Set some custom parameter values of a ${label} (publishes ${name}.parameters_changed when something changes); answers with all values`,
          params: IdParams,
          body: Patch,
          response: { 200: Values },
        },
      },
      async (request) => writeParameterValues(ctx, service, (request.params as { id: number }).id, request.body as Record<string, unknown>, request.principal),
    );
  }
}
