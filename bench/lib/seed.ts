import { openDatabase } from '../../src/platform/db/index.js';
import { clientInput, prng } from './clients-data.js';
import type { ScratchDatabase } from './databases.js';

const BATCH = 500;

/**
 * Inserts `count` clients straight into a migrated hub database, in batches inside one
 * transaction: seeding 10,000 through POST /clients/add would take longer than the benchmark
 * itself. The rows mirror what the API stores for the same input (the read cases then fetch them
 * through the API, so a mismatch shows up as errors). Returns the id range.
 */
export async function seedClients(target: ScratchDatabase, count: number): Promise<{ minId: number; maxId: number }> {
  const { db, dialect, close } = openDatabase(target.url);
  try {
    const random = prng(7);
    const now = Date.now();
    await db.transaction().execute(async (trx) => {
      for (let start = 0; start < count; start += BATCH) {
        const rows = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => {
          const c = clientInput(start + i + 1, random);
          return {
            first_name: c.firstName,
            last_name: c.lastName,
            middle_name: c.middleName,
            birth_date: Date.parse(`${c.birthDate}T00:00:00Z`),
            available: dialect.bool(c.available),
            email: c.email,
            phone: c.phone,
            social_media: JSON.stringify(c.socialMedia),
            created_at: now,
            updated_at: now,
          };
        });
        await trx.insertInto('clients').values(rows).execute();
      }
    });
    const range = await db.selectFrom('clients').select((eb) => [eb.fn.min('id').as('minId'), eb.fn.max('id').as('maxId'), eb.fn.countAll().as('n')]).executeTakeFirstOrThrow();
    if (Number(range.n) !== count) throw new Error(`seeded ${count} clients into ${target.kind} but found ${range.n}`);
    return { minId: Number(range.minId), maxId: Number(range.maxId) };
  } finally {
    await close();
  }
}
