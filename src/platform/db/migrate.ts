import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Db, Database } from './connect.js';
import type { SqlDialect } from './dialect.js';

/**
 * A numbered migration owned by one module. Names sort in the order they run on a new database:
 * `0001_platform_events`, `0100_directory_core`, … Applied migrations are never edited. Each module
 * numbers within its own range, so a module's new migration may sort before another module's applied
 * one: on an existing database the pending ones then run after those (in name order among themselves).
 */
export interface ModuleMigration {
  name: string;
  up(db: Db, dialect: SqlDialect): Promise<void>;
}

export interface MigrationOutcome {
  applied: string[];
}

export async function migrateToLatest(database: Database, migrations: readonly ModuleMigration[]): Promise<MigrationOutcome> {
  const names = new Set<string>();
  for (const m of migrations) {
    if (names.has(m.name)) throw new Error(`duplicate migration name ${m.name}`);
    names.add(m.name);
  }
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of migrations) out[m.name] = { up: (db) => m.up(db, database.dialect) };
      return out;
    },
  };
  const migrator = new Migrator({
    db: database.db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
    // Module ranges (above): a pending 0003_… must still run on a database that has 0300_… applied.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? String(error)}`);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
