import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { onCleanup } from './lifecycle.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/** Server the PostgreSQL cases create their scratch database on (needs CREATE DATABASE rights). */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  kind: DatabaseKind;
  url: string;
  /** Where the data lives, for the report (no password). */
  description: string;
  drop(): Promise<void>;
}

/** A fresh empty database: a SQLite file in a new temp dir, or a new `conveyor_bench_<hex>` database. */
export async function scratchDatabase(kind: DatabaseKind): Promise<ScratchDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
    const file = join(dir, 'hub.db');
    const drop = onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    return { kind, url: `sqlite:${file}`, description: `sqlite:${file}`, drop };
  }
  const name = `conveyor_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const drop = onCleanup(async () => void (await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return { kind, url, description: url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@'), drop };
}

/** `SELECT version()` of the PostgreSQL server, for the machine description. */
export async function postgresVersion(): Promise<string> {
  const rows = await adminQuery('SHOW server_version');
  return String(rows[0]?.server_version ?? 'unknown');
}

async function adminQuery(text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot reach PostgreSQL at ${PG_ADMIN_URL} (set BENCH_PG_URL, or run with --databases sqlite): ${(err as Error).message}`);
  }
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
