import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrincipalStore } from '../../src/directory/index.js';
import { canSend, isPermission } from '../../src/platform/auth/index.js';
import { TEST_DATABASES } from '../support/databases.js';
import { startTestHub, type TestHub } from '../support/hub.js';

/** The only routes reachable without credentials. */
const PUBLIC = ['GET /healthz', 'GET /readyz'];
/**
 * Public to passwords but authenticated by the remote module's HMAC signature over the body, with a
 * single-use token (test/flows/runtime/http-callback.test.ts shows a forged one is refused).
 */
const SIGNED = ['POST /flows/callbacks/:module/:token'];
/** Signed-in employees only, no permission: each checks the caller itself (self or admin) or shows docs. */
const AUTHENTICATED_ONLY = ['GET /me', 'PUT /employees/:id/password'];
const DOCS = /^\/(swagger-ui|openapi\.json|documentation)/;

type RoleKey = 'admin' | 'manager' | 'operator' | 'analyst' | 'head';
const ROLES: Record<RoleKey, string> = {
  admin: 'Администратор',
  manager: 'Менеджер',
  operator: 'Оператор',
  analyst: 'Аналитик',
  head: 'Руководитель подразделения',
};
const EVERYONE = Object.keys(ROLES) as RoleKey[];
const PASSWORD = 'matrix-password';

/** Ids created for the matrix; `own` is the department every role's employee works in. */
interface Fixture {
  ownDept: number;
  otherDept: number;
  /** Employees without roles, targets of reads and writes. */
  ownEmployee: number;
  otherEmployee: number;
  analystRole: number;
  unique(prefix: string): string;
}
type FromFixture<T> = (f: Fixture) => T;

/**
 * One line per permission area: who may (and the success status); everyone else gets 403 unless
 * `denied` says otherwise. Add a line to cover another endpoint.
 */
interface Area {
  area: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: FromFixture<string>;
  body?: FromFixture<unknown>;
  allowed: RoleKey[];
  ok: number;
  denied?: Partial<Record<RoleKey, number>>;
}

const newEmployee = (dept: 'ownDept' | 'otherDept') => (f: Fixture) => ({ username: f.unique('mx-new'), password: PASSWORD, departmentId: f[dept] });

const AREAS: Area[] = [
  { area: 'directory read', method: 'GET', url: () => '/clients', allowed: EVERYONE, ok: 200 },
  { area: 'directory read', method: 'GET', url: () => '/communication_types', allowed: EVERYONE, ok: 200 },
  { area: 'directory read', method: 'GET', url: () => '/departments', allowed: EVERYONE, ok: 200 },
  { area: 'directory write', method: 'POST', url: () => '/clients', body: () => ({ firstName: 'Матрица' }), allowed: ['admin', 'manager'], ok: 201 },
  { area: 'directory write', method: 'POST', url: () => '/client_groups', body: (f) => ({ name: f.unique('Группа') }), allowed: ['admin', 'manager'], ok: 201 },
  { area: 'settings write', method: 'POST', url: () => '/communication_types', body: (f) => ({ name: f.unique('Тип') }), allowed: ['admin'], ok: 201 },
  { area: 'settings write', method: 'PUT', url: (f) => `/departments/${f.otherDept}`, body: () => ({ description: 'изменено' }), allowed: ['admin'], ok: 200 },
  { area: 'employees read, own department', method: 'GET', url: (f) => `/departments/${f.ownDept}/employees`, allowed: ['admin', 'head'], ok: 200 },
  { area: 'employees read, own department', method: 'GET', url: (f) => `/employees/${f.ownEmployee}`, allowed: ['admin', 'head'], ok: 200 },
  { area: 'employees read, other department', method: 'GET', url: (f) => `/departments/${f.otherDept}/employees`, allowed: ['admin'], ok: 200 },
  // Outside the own department an employee is invisible (404), not merely forbidden.
  { area: 'employees read, other department', method: 'GET', url: (f) => `/employees/${f.otherEmployee}`, allowed: ['admin'], ok: 200, denied: { head: 404 } },
  { area: 'employees write, own department', method: 'POST', url: () => '/employees', body: newEmployee('ownDept'), allowed: ['admin', 'head'], ok: 201 },
  { area: 'employees write, own department', method: 'PUT', url: (f) => `/employees/${f.ownEmployee}`, body: () => ({ position: 'Стажёр' }), allowed: ['admin', 'head'], ok: 200 },
  { area: 'employees write, other department', method: 'POST', url: () => '/employees', body: newEmployee('otherDept'), allowed: ['admin'], ok: 201 },
  { area: 'employees write, other department', method: 'PUT', url: (f) => `/employees/${f.otherEmployee}`, body: () => ({ position: 'Стажёр' }), allowed: ['admin'], ok: 200, denied: { head: 404 } },
  { area: 'roles (admin only)', method: 'POST', url: () => '/roles', body: (f) => ({ name: f.unique('Роль'), permissions: ['directory.read'] }), allowed: ['admin'], ok: 201 },
  { area: 'roles (admin only)', method: 'PUT', url: (f) => `/employees/${f.ownEmployee}/roles/${f.analystRole}`, allowed: ['admin'], ok: 200 },
  { area: 'roles read', method: 'GET', url: () => '/roles', allowed: ['admin', 'head'], ok: 200 },
  { area: 'metrics (stats.view)', method: 'GET', url: () => '/metrics', allowed: ['admin', 'manager', 'analyst'], ok: 200 },
  { area: 'self', method: 'GET', url: () => '/me', allowed: EVERYONE, ok: 200 },
  { area: 'operations (admin only)', method: 'GET', url: () => '/jobs?state=dead', allowed: ['admin'], ok: 200 },
  { area: 'operations (admin only)', method: 'GET', url: () => '/event-subscribers', allowed: ['admin'], ok: 200 },
  // An admin gets past authorisation to the handler, which finds no such job or subscriber.
  { area: 'operations (admin only)', method: 'GET', url: () => '/jobs/987654', allowed: ['admin'], ok: 404 },
  { area: 'operations (admin only)', method: 'POST', url: () => '/jobs/987654/retry', allowed: ['admin'], ok: 404 },
  { area: 'operations (admin only)', method: 'DELETE', url: () => '/jobs/987654', allowed: ['admin'], ok: 404 },
  { area: 'operations (admin only)', method: 'POST', url: () => '/event-subscribers/no-such/skip', body: () => ({ eventId: 1 }), allowed: ['admin'], ok: 404 },
  { area: 'operations (admin only)', method: 'POST', url: () => '/event-subscribers/no-such/retry', allowed: ['admin'], ok: 404 },
  { area: 'operations (admin only)', method: 'DELETE', url: () => '/event-subscribers/no-such', allowed: ['admin'], ok: 404 },
];

/** The matrix as a table: [role, method, url, body?, expected status]. */
type Case = [RoleKey, Area['method'], FromFixture<string>, FromFixture<unknown> | undefined, number, string];
const CASES: Case[] = EVERYONE.flatMap((role) =>
  AREAS.map((a): Case => [role, a.method, a.url, a.body, a.allowed.includes(role) ? a.ok : (a.denied?.[role] ?? 403), a.area]),
);

/** Names the ids in test titles, so titles do not depend on database ids. */
const PLACEHOLDERS = { ownDept: ':own', otherDept: ':other', ownEmployee: ':own-employee', otherEmployee: ':other-employee', analystRole: ':analyst-role', unique: (p: string) => p } as unknown as Fixture;

/** A concrete URL for a route pattern (the values need not exist: auth comes before the handler). */
const concrete = (url: string) => url.replace(/:(\w+)/g, (_, p: string) => (p === 'name' ? 'x' : '1'));

for (const kind of TEST_DATABASES) {
  describe(`authorisation on ${kind}`, () => {
    let t: TestHub;
    let f: Fixture;

    before(async () => {
      t = await startTestHub(kind);
      let n = 0;
      const create = async (path: string, body: unknown): Promise<Record<string, number>> => {
        const res = await t.call('POST', path, { body });
        assert.equal(res.statusCode, 201, res.body);
        return res.json();
      };
      const ownDept = (await create('/departments', { name: 'Матрица' })).departmentId;
      const otherDept = (await create('/departments', { name: 'Матрица-другой' })).departmentId;
      for (const [key, roleName] of Object.entries(ROLES)) {
        const role = await t.call('GET', `/roles/name/${encodeURIComponent(roleName)}`);
        assert.equal(role.statusCode, 200, `the seeded role ${roleName} exists`);
        const employee = await create('/employees', { username: `mx-${key}`, password: PASSWORD, departmentId: ownDept });
        assert.equal((await t.call('PUT', `/employees/${employee.employeeId}/roles/${role.json().roleId}`)).statusCode, 200);
      }
      f = {
        ownDept,
        otherDept,
        ownEmployee: (await create('/employees', { username: 'mx-target', password: PASSWORD, departmentId: ownDept })).employeeId,
        otherEmployee: (await create('/employees', { username: 'mx-other', password: PASSWORD, departmentId: otherDept })).employeeId,
        analystRole: (await t.call('GET', `/roles/name/${encodeURIComponent(ROLES.analyst)}`)).json().roleId,
        unique: (prefix) => `${prefix}-${++n}`,
      };
    });
    after(async () => t.close());

    it('every route is public (health checks and signed callbacks only), declares a permission, or is on the short authenticated-only list', () => {
      const seen = new Set<string>();
      for (const route of t.built.routes) {
        const key = `${route.method} ${route.url}`;
        seen.add(key);
        if (route.public) {
          assert.ok(PUBLIC.includes(key) || SIGNED.includes(key), `${key} is public but neither a health check nor a signed callback`);
          continue;
        }
        if (route.permission === undefined) {
          assert.ok(AUTHENTICATED_ONLY.includes(key) || DOCS.test(route.url), `${key} declares no permission`);
          continue;
        }
        for (const p of [route.permission].flat()) assert.ok(isPermission(p), `${key} declares an unknown permission "${p}"`);
      }
      for (const key of [...PUBLIC, ...SIGNED, ...AUTHENTICATED_ONLY]) assert.ok(seen.has(key), `${key} is listed above but is no route`);
      assert.ok(t.built.routes.length > 100, 'the route list is the full one');
    });

    it('every non-public route refuses a request without credentials', async () => {
      for (const route of t.built.routes.filter((r) => !r.public)) {
        const res = await t.call(route.method, concrete(route.url), { auth: null });
        assert.equal(res.statusCode, 401, `${route.method} ${route.url}`);
      }
    });

    it('every permission-guarded route refuses an employee with no role, before looking at the body', async () => {
      const username = f.unique('mx-nobody');
      assert.equal((await t.call('POST', '/employees', { body: { username, password: PASSWORD, departmentId: f.ownDept } })).statusCode, 201);
      for (const route of t.built.routes.filter((r) => r.permission !== undefined)) {
        const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? { surely: 'not a valid body' } : undefined;
        const res = await t.call(route.method, concrete(route.url), { auth: [username, PASSWORD], body });
        assert.equal(res.statusCode, 403, `${route.method} ${route.url}: ${res.body}`);
      }
    });

    for (const role of EVERYONE) {
      describe(`as ${ROLES[role]}`, () => {
        for (const [, method, url, body, expected, area] of CASES.filter((c) => c[0] === role)) {
          it(`${area}: ${method} ${url(PLACEHOLDERS)} → ${expected}`, async () => {
            const res = await t.call(method, url(f), { auth: [`mx-${role}`, PASSWORD], body: body?.(f) });
            assert.equal(res.statusCode, expected, res.body);
            if (expected === 403) assert.equal(res.json().error, 'FORBIDDEN');
          });
        }
      });
    }

    it('canSend follows the Оператор role’s grants exactly (and comms.send is needed at all)', async () => {
      const store = createPrincipalStore(t.hub.ctx.db);
      const principalOf = async (username: string) => (await store.findByUsername(username))!.principal;
      const operatorRole = (await t.call('GET', `/roles/name/${encodeURIComponent(ROLES.operator)}`)).json();
      const types = (await t.call('GET', '/communication_types')).json().map((x: { communicationTypeId: number }) => x.communicationTypeId);
      const channels = (await t.call('GET', '/send_channel_types')).json().map((x: { sendChannelTypeId: number }) => x.sendChannelTypeId);
      const granted = new Set(operatorRole.sendGrants.map((g: { communicationTypeId: number; sendChannelTypeId: number }) => `${g.communicationTypeId}:${g.sendChannelTypeId}`));
      assert.ok(granted.size > 0 && granted.size < types.length * channels.length, 'the Оператор may send some, not all');

      const [operator, analyst, admin] = await Promise.all(['mx-operator', 'mx-analyst', 'mx-admin'].map(principalOf));
      for (const type of types) {
        for (const channel of channels) {
          assert.equal(canSend(operator, type, channel), granted.has(`${type}:${channel}`), `Оператор, type ${type} over channel ${channel}`);
          assert.equal(canSend(analyst, type, channel), false, 'no comms.send, no sending');
          assert.equal(canSend(admin, type, channel), true, 'admin sends anything');
        }
      }
      // Grants without comms.send do not allow sending either.
      const [grant] = operator.sendGrants;
      assert.equal(canSend({ ...operator, permissions: new Set(['directory.read']) }, grant.communicationTypeId, grant.sendChannelTypeId), false);
    });
  });
}
