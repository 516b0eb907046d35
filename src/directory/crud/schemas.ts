import { Type, type TSchema } from 'typebox';
import type { EntityDef } from './entity.js';
import { valueSchema } from './fields.js';
import { DEFAULT_PAGE, MAX_PAGE } from './service.js';

/** OpenAPI 3.0 style nullability, which fast-json-stringify also understands (no slow anyOf). */
export function nullable(schema: TSchema): TSchema {
  if (!('type' in schema)) return schema; // untyped (any JSON) already admits null
  return { ...schema, nullable: true } as TSchema;
}

export function itemSchema(def: EntityDef): TSchema {
  const props: Record<string, TSchema> = { [def.idField]: Type.Integer() };
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.writeOnly) continue;
    props[name] = field.required && field.kind !== 'json' ? valueSchema(field) : nullable(valueSchema(field));
  }
  if (def.timestamps !== false) {
    props.createTime = Type.String({ description: 'e.g. 2023-04-12T23:13:48.363+00:00' });
    props.updateTime = Type.String();
  }
  Object.assign(props, def.extraOutput ?? {});
  return Type.Object(props, { title: def.label });
}

/** Body of add/edit. Unknown fields are refused; read-only fields of the item may be sent back and are ignored. */
export function inputSchema(def: EntityDef, creating: boolean): TSchema {
  const props: Record<string, TSchema> = {};
  const required: string[] = [];
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.readOnly) {
      props[name] = Type.Optional(Type.Unknown());
      continue;
    }
    const schema = valueSchema(field);
    if (creating && field.required && field.default === undefined) {
      props[name] = schema;
      required.push(name);
    } else {
      props[name] = Type.Optional(field.required ? schema : nullable(schema));
    }
  }
  for (const readOnly of [def.idField, ...(def.timestamps !== false ? ['createTime', 'updateTime'] : []), ...Object.keys(def.extraOutput ?? {})]) {
    props[readOnly] ??= Type.Optional(Type.Unknown({ description: 'read-only; ignored' }));
  }
  Object.assign(props, def.extraInput ?? {});
  return Type.Object(props, { additionalProperties: false });
}

export function listQuerySchema(def: EntityDef): TSchema {
  const props: Record<string, TSchema> = {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, description: `Page size (default ${DEFAULT_PAGE})` })),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    page: Type.Optional(Type.Integer({ minimum: 0, description: 'Zero-based page number (with size)' })),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE })),
    sort: Type.Optional(Type.String({ description: 'Comma-separated fields, "-" for descending: lastName,-createTime' })),
    q: Type.Optional(Type.String({ maxLength: 200, description: `Case-insensitive search in ${def.nameFields.join(', ')}` })),
  };
  for (const [name, field] of Object.entries(def.fields)) {
    if (field.filter && !field.writeOnly) props[name] = Type.Optional(valueSchema(field));
  }
  return Type.Object(props, { additionalProperties: false });
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Record id' }) });
export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) });
