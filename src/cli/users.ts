import { createInterface } from 'node:readline';
import { hashPassword } from '../platform/auth/index.js';
import type { Config } from '../platform/config/index.js';
import { withHub } from './common.js';

async function readPassword(): Promise<string> {
  const fromEnv = process.env.CONVEYOR_NEW_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write('New password: ');
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  throw new Error('no password given: pass it on stdin or in CONVEYOR_NEW_PASSWORD');
}

export async function usersList(config: Readonly<Config>): Promise<void> {
  await withHub(config, async ({ ctx }) => {
    const rows = await ctx.db
      .selectFrom('employees')
      .leftJoin('employee_roles', 'employee_roles.employee_id', 'employees.id')
      .leftJoin('roles', 'roles.id', 'employee_roles.role_id')
      .select(['employees.id', 'employees.username', 'employees.active', 'roles.name as role'])
      .orderBy('employees.id')
      .execute();
    for (const r of rows) console.log(`${r.id}\t${r.username}\t${r.active ? 'active' : 'inactive'}\t${r.role ?? ''}`);
  });
}

export async function usersPasswd(config: Readonly<Config>, username: string): Promise<void> {
  const password = await readPassword();
  if (password.length < 8) throw new Error('the new password must have at least 8 characters');
  await withHub(config, async ({ ctx }) => {
    const result = await ctx.db
      .updateTable('employees')
      .set({ password_hash: await hashPassword(password, ctx.config.auth.passwordHashCost), updated_at: ctx.clock.now() })
      .where('username', '=', username)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new Error(`no employee named ${username}`);
    console.log(`password of ${username} changed`);
  });
}

export async function usersAdd(config: Readonly<Config>, username: string, roleName: string): Promise<void> {
  const password = await readPassword();
  if (password.length < 8) throw new Error('the password must have at least 8 characters');
  await withHub(config, async ({ ctx }) => {
    const role = await ctx.db.selectFrom('roles').select('id').where('name', '=', roleName).executeTakeFirst();
    if (!role) throw new Error(`no role named ${roleName}`);
    const now = ctx.clock.now();
    await ctx.db.transaction().execute(async (trx) => {
      const e = await trx
        .insertInto('employees')
        .values({ username, password_hash: await hashPassword(password, ctx.config.auth.passwordHashCost), active: ctx.dialect.bool(true), created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx.insertInto('employee_roles').values({ employee_id: e.id, role_id: role.id }).execute();
    });
    console.log(`employee ${username} added with role ${roleName}`);
  });
}
