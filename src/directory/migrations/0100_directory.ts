import type { ColumnDefinitionBuilder, CreateTableBuilder } from 'kysely';
import type { Db, ModuleMigration, SqlDialect } from '../../platform/db/index.js';

type Table = CreateTableBuilder<string, never>;
type Col = ColumnDefinitionBuilder;

/** The directory: reference data of 003, people, companies, clients, deals, custom parameters. */
export const directoryMigration: ModuleMigration = {
  name: '0100_directory',
  async up(db: Db, dialect: SqlDialect) {
    const table = (name: string, build: (t: Table) => Table, timestamps = true) => {
      let t = dialect.addIdColumn(db.schema.createTable(name) as Table);
      t = build(t);
      if (timestamps) t = t.addColumn('created_at', 'bigint', (c: Col) => c.notNull()).addColumn('updated_at', 'bigint', (c: Col) => c.notNull());
      return t.execute();
    };
    const named = (t: Table) => t.addColumn('name', 'text', (c: Col) => c.notNull().unique()).addColumn('description', 'text');
    const ref = (target: string, onDelete: 'cascade' | 'restrict' | 'set null') => (c: Col) => c.references(`${target}.id`).onDelete(onDelete);

    await table('communication_types', named, false);
    await table('send_channel_types', (t) => named(t).addColumn('kind', 'text', (c: Col) => c.notNull().defaultTo('other')), false);
    await table('booking_status_types', named, false);
    await table('departments', named);
    await table('roles', (t) =>
      named(t).addColumn('permissions', 'text', (c: Col) => c.notNull().defaultTo('[]')).addColumn('send_grants', 'text', (c: Col) => c.notNull().defaultTo('[]')),
    );
    await table('employees', (t) =>
      t
        .addColumn('username', 'text', (c: Col) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c: Col) => c.notNull())
        .addColumn('first_name', 'text')
        .addColumn('last_name', 'text')
        .addColumn('email', 'text')
        .addColumn('phone', 'text')
        .addColumn('position', 'text')
        .addColumn('department_id', 'bigint', ref('departments', 'restrict'))
        .addColumn('active', 'boolean', (c: Col) => c.notNull().defaultTo(true)),
    );
    await db.schema
      .createTable('employee_roles')
      .addColumn('employee_id', 'bigint', (c) => c.notNull().references('employees.id').onDelete('cascade'))
      .addColumn('role_id', 'bigint', (c) => c.notNull().references('roles.id').onDelete('restrict'))
      .addPrimaryKeyConstraint('employee_roles_pk', ['employee_id', 'role_id'])
      .execute();
    await table('companies', (t) =>
      t
        .addColumn('name', 'text', (c: Col) => c.notNull())
        .addColumn('inn', 'text')
        .addColumn('kpp', 'text')
        .addColumn('ogrn', 'text')
        .addColumn('address', 'text')
        .addColumn('phone', 'text')
        .addColumn('email', 'text')
        .addColumn('website', 'text')
        .addColumn('external_id', 'text', (c: Col) => c.unique()),
    );
    await table('contacts', (t) =>
      t
        .addColumn('company_id', 'bigint', (c: Col) => ref('companies', 'cascade')(c).notNull())
        .addColumn('first_name', 'text')
        .addColumn('last_name', 'text')
        .addColumn('middle_name', 'text')
        .addColumn('position', 'text')
        .addColumn('phone', 'text')
        .addColumn('email', 'text'),
    );
    await table('client_groups', named);
    await table('clients', (t) =>
      t
        .addColumn('first_name', 'text')
        .addColumn('last_name', 'text')
        .addColumn('middle_name', 'text')
        .addColumn('birth_date', 'bigint')
        .addColumn('available', 'boolean', (c: Col) => c.notNull().defaultTo(true))
        .addColumn('email', 'text')
        .addColumn('phone', 'text')
        .addColumn('company_id', 'bigint', ref('companies', 'set null'))
        .addColumn('social_media', 'text')
        .addColumn('external_id', 'text', (c: Col) => c.unique()),
    );
    await db.schema
      .createTable('client_group_members')
      .addColumn('group_id', 'bigint', (c) => c.notNull().references('client_groups.id').onDelete('cascade'))
      .addColumn('client_id', 'bigint', (c) => c.notNull().references('clients.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('client_group_members_pk', ['group_id', 'client_id'])
      .execute();
    await table('deal_types', named);
    await table('deal_statuses', (t) => named(t).addColumn('type', 'text', (c: Col) => c.notNull().defaultTo('progress')));
    await table('deals', (t) =>
      t
        .addColumn('title', 'text', (c: Col) => c.notNull())
        .addColumn('client_id', 'bigint', ref('clients', 'restrict'))
        .addColumn('company_id', 'bigint', ref('companies', 'set null'))
        .addColumn('deal_type_id', 'bigint', (c: Col) => ref('deal_types', 'restrict')(c).notNull())
        .addColumn('deal_status_id', 'bigint', ref('deal_statuses', 'restrict'))
        .addColumn('amount', 'double precision')
        .addColumn('currency', 'text')
        .addColumn('external_id', 'text', (c: Col) => c.unique()),
    );
    await table('parameters', (t) =>
      t
        .addColumn('name', 'text', (c: Col) => c.notNull())
        .addColumn('type', 'text', (c: Col) => c.notNull())
        .addColumn('entity_type', 'text', (c: Col) => c.notNull())
        .addColumn('options', 'text')
        .addColumn('description', 'text')
        .addUniqueConstraint('parameters_entity_name_uq', ['entity_type', 'name']),
    );
    await db.schema
      .createTable('parameter_values')
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'bigint', (c) => c.notNull())
      .addColumn('parameter_id', 'bigint', (c) => c.notNull().references('parameters.id').onDelete('cascade'))
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('parameter_values_pk', ['entity_type', 'entity_id', 'parameter_id'])
      .execute();
    await table('rules', (t) =>
      named(t)
        .addColumn('department_id', 'bigint', ref('departments', 'cascade'))
        .addColumn('communication_type_id', 'bigint', ref('communication_types', 'cascade'))
        .addColumn('send_channel_type_id', 'bigint', ref('send_channel_types', 'cascade'))
        .addColumn('start_hour', 'integer')
        .addColumn('end_hour', 'integer')
        .addColumn('max_per_day', 'integer')
        .addColumn('priority', 'integer', (c: Col) => c.notNull().defaultTo(0))
        .addColumn('active', 'boolean', (c: Col) => c.notNull().defaultTo(true)),
    );
    await table('documents', (t) =>
      t
        .addColumn('name', 'text', (c: Col) => c.notNull())
        .addColumn('kind', 'text', (c: Col) => c.notNull().defaultTo('text'))
        .addColumn('mime_type', 'text')
        .addColumn('content', 'text')
        .addColumn('url', 'text'),
    );
    await table('bookings', (t) =>
      t
        .addColumn('client_id', 'bigint', (c: Col) => ref('clients', 'cascade')(c).notNull())
        .addColumn('name', 'text')
        .addColumn('before_date', 'bigint', (c: Col) => c.notNull())
        .addColumn('status_id', 'bigint', (c: Col) => ref('booking_status_types', 'restrict')(c).notNull())
        .addColumn('communication_type_id', 'bigint', ref('communication_types', 'set null'))
        .addColumn('employee_id', 'bigint', ref('employees', 'set null')),
    );
    await table('channel_blocks', (t) =>
      t
        .addColumn('client_id', 'bigint', (c: Col) => ref('clients', 'cascade')(c).notNull())
        .addColumn('send_channel_type_id', 'bigint', (c: Col) => ref('send_channel_types', 'cascade')(c).notNull())
        .addColumn('until', 'bigint')
        .addColumn('reason', 'text'),
    );

    const index = (name: string, on: string, columns: string[]) => db.schema.createIndex(name).on(on).columns(columns).execute();
    await index('clients_last_name_idx', 'clients', ['last_name']);
    await index('clients_company_idx', 'clients', ['company_id']);
    await index('employees_department_idx', 'employees', ['department_id']);
    await index('contacts_company_idx', 'contacts', ['company_id']);
    await index('client_group_members_client_idx', 'client_group_members', ['client_id']);
    await index('deals_client_idx', 'deals', ['client_id']);
    await index('bookings_client_idx', 'bookings', ['client_id', 'before_date']);
    await index('channel_blocks_client_idx', 'channel_blocks', ['client_id']);
    await index('parameter_values_parameter_idx', 'parameter_values', ['parameter_id']);
    await index('employee_roles_role_idx', 'employee_roles', ['role_id']);
  },
};
