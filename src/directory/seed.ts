import { hashPassword, verifyPassword, type Permission } from '../platform/auth/index.js';
import type { HubContext } from '../platform/context.js';
import { createDirectoryServices } from './registry.js';
import { innProblem } from './values/index.js';

export const DEFAULT_ADMIN = { username: 'Admin', password: 'admin' } as const;

const ALL_SENDS = Array.from({ length: 6 }, (_, t) => Array.from({ length: 5 }, (_, c) => ({ communicationTypeId: t + 1, sendChannelTypeId: c + 1 }))).flat();

/** Roles every hub starts with. Admins can change them; they are only created when no role exists. */
const DEFAULT_ROLES: { name: string; description: string; permissions: Permission[]; sendGrants: typeof ALL_SENDS }[] = [
  { name: 'Администратор', description: 'Full access', permissions: ['admin'], sendGrants: [] },
  {
    name: 'Менеджер',
    description: 'Manages the customer directory and sends every type over every channel',
    permissions: ['directory.read', 'directory.write', 'comms.send', 'stats.view', 'flows.read', 'flows.run'],
    sendGrants: ALL_SENDS,
  },
  {
    name: 'Оператор',
    description: 'Reads the directory; sends personal and service communications by SMS and email',
    permissions: ['directory.read', 'comms.send'],
    sendGrants: [2, 6].flatMap((t) => [1, 3].map((c) => ({ communicationTypeId: t, sendChannelTypeId: c }))),
  },
  { name: 'Аналитик', description: 'Reads the directory, statistics and flow runs', permissions: ['directory.read', 'stats.view', 'flows.read'], sendGrants: [] },
  {
    name: 'Руководитель подразделения',
    description: 'Manages the employees of the own department',
    permissions: ['directory.read', 'employees.read', 'employees.write'],
    sendGrants: [],
  },
];

/** Idempotent: the bootstrap Admin (003's "нулевой клиент") and the default roles on an empty hub. */
export async function seedBootstrap(ctx: HubContext): Promise<void> {
  const anyEmployee = await ctx.db.selectFrom('employees').select('id').limit(1).executeTakeFirst();
  if (anyEmployee) return;
  const passwordHash = await hashPassword(DEFAULT_ADMIN.password, ctx.config.auth.passwordHashCost);
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    const roleIds: number[] = [];
    for (const role of DEFAULT_ROLES) {
      const existing = await trx.selectFrom('roles').select('id').where('name', '=', role.name).executeTakeFirst();
      const row =
        existing ??
        (await trx
          .insertInto('roles')
          .values({ name: role.name, description: role.description, permissions: JSON.stringify(role.permissions), send_grants: JSON.stringify(role.sendGrants), created_at: now, updated_at: now })
          .returning('id')
          .executeTakeFirstOrThrow());
      roleIds.push(Number(row.id));
    }
    const admin = await trx
      .insertInto('employees')
      .values({ username: DEFAULT_ADMIN.username, password_hash: passwordHash, first_name: 'Admin', active: ctx.dialect.bool(true), created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx.insertInto('employee_roles').values({ employee_id: admin.id, role_id: roleIds[0] }).execute();
  });
  ctx.log.warn('created the bootstrap user Admin with the default password "admin": change it (conveyor users passwd Admin)');
}

export async function adminHasDefaultPassword(ctx: HubContext): Promise<boolean> {
  const row = await ctx.db.selectFrom('employees').select('password_hash').where('username', '=', DEFAULT_ADMIN.username).executeTakeFirst();
  return row ? verifyPassword(DEFAULT_ADMIN.password, String(row.password_hash)) : false;
}

const FIRST = ['Иван', 'Пётр', 'Анна', 'Мария', 'Сергей', 'Ольга', 'Дмитрий', 'Елена', 'Алексей', 'Наталья', 'Michael', 'Julia'];
const LAST = ['Иванов', 'Петров', 'Смирнов', 'Кузнецов', 'Попов', 'Соколов', 'Лебедев', 'Козлов', 'Новиков', 'Морозов', 'Jordan', 'Tyson'];
const COMPANY = ['Ромашка', 'Вектор', 'Горизонт', 'Альфа-Трейд', 'СеверСтрой', 'ТехноМир', 'Оптима', 'Лидер'];

/** A small demo directory on an empty hub: departments, employees, companies, clients, deals. */
export async function seedDemo(ctx: HubContext, clientCount: number): Promise<boolean> {
  const anyClient = await ctx.db.selectFrom('clients').select('id').limit(1).executeTakeFirst();
  const anyDepartment = await ctx.db.selectFrom('departments').select('id').limit(1).executeTakeFirst();
  if (anyClient || anyDepartment) return false;
  const s = createDirectoryServices(ctx);
  const roleId = async (name: string) => Number((await ctx.db.selectFrom('roles').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id);
  const departments = [];
  for (const name of ['Продажи', 'Маркетинг', 'Сервис']) departments.push(await s.department.create({ name, description: `Отдел «${name}»` }, null));
  const staff = [
    ['manager', 'Менеджер', 0],
    ['operator', 'Оператор', 2],
    ['analyst', 'Аналитик', 1],
    ['head', 'Руководитель подразделения', 0],
  ] as const;
  for (const [username, role, dept] of staff) {
    const e = await s.employee.create({ username, password: 'demo-password', firstName: username, departmentId: departments[dept].departmentId }, null);
    await ctx.db.insertInto('employee_roles').values({ employee_id: e.employeeId, role_id: await roleId(role) }).execute();
  }
  const groups = [await s.client_group.create({ name: 'Розница', description: 'Retail customers' }, null), await s.client_group.create({ name: 'Опт', description: 'B2B customers' }, null)];
  const companies = [];
  for (let i = 0; i < 40; i++) {
    companies.push(await s.company.create({ name: `ООО «${COMPANY[i % COMPANY.length]}-${i + 1}»`, inn: demoInn(770000000 + i * 37), email: `info${i}@example.ru` }, null));
  }
  const saleType = await s.deal_type.create({ name: 'Продажа' }, null);
  await s.deal_type.create({ name: 'Сервис' }, null);
  const statuses = [
    await s.deal_status.create({ name: 'Новая', type: 'progress' }, null),
    await s.deal_status.create({ name: 'Оплачена', type: 'paid' }, null),
    await s.deal_status.create({ name: 'Отменена', type: 'canceled' }, null),
  ];
  for (const [name, type] of [['Телефон', 'phone'], ['Email', 'email'], ['Компания', 'text'], ['Дата рождения', 'date']] as const) {
    await s.parameter.create({ name, type, entityType: 'client' }, null);
  }
  for (let i = 0; i < clientCount; i++) {
    const company = i % 3 === 0 ? companies[i % companies.length] : null;
    const client = await s.client.create(
      {
        firstName: FIRST[i % FIRST.length],
        lastName: LAST[(i * 7) % LAST.length],
        birthDate: new Date(Date.UTC(1960 + (i % 45), i % 12, 1 + (i % 28))).toISOString(),
        available: i % 10 !== 0,
        email: `client${i + 1}@example.ru`,
        phone: `+7999${String(1000000 + i).padStart(7, '0')}`,
        companyId: company?.companyId ?? null,
      },
      null,
    );
    await ctx.db.insertInto('client_group_members').values({ group_id: groups[company ? 1 : 0].clientGroupId, client_id: client.clientId }).execute();
    if (i % 2 === 0) {
      await s.deal.create({ title: `Заказ №${1000 + i}`, clientId: client.clientId, dealTypeId: saleType.dealTypeId, dealStatusId: statuses[i % 3].dealStatusId, amount: 1000 + (i % 50) * 250, currency: 'RUB' }, null);
    }
  }
  ctx.log.info({ clients: clientCount }, 'seeded the demo directory');
  return true;
}

/** A valid organisation INN (10 digits) for demo data: the 9 given digits and their check digit. */
function demoInn(nineDigits: number): string {
  for (let d = 0; d <= 9; d++) if (innProblem(`${nineDigits}${d}`) === null) return `${nineDigits}${d}`;
  throw new Error(`no check digit for ${nineDigits}`); // cannot happen: one digit always fits
}
