import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MIGRATIONS } from '../../src/hub.js';
import { migrateToLatest, openDatabase, type Database } from '../../src/platform/db/index.js';
import { scratchDatabase, TEST_DATABASES, type ScratchDatabase } from '../support/databases.js';

const MIGRATION = '0102_directory_contact_values';

for (const kind of TEST_DATABASES) {
  describe(`migration ${MIGRATION} on an existing database (${kind})`, () => {
    let scratch: ScratchDatabase;
    let database: Database;

    before(async () => {
      scratch = await scratchDatabase(kind);
      database = openDatabase(scratch.url);
      // A database of the release before: everything else applied, rows written before phones were checked.
      await migrateToLatest(database, MIGRATIONS.filter((m) => m.name !== MIGRATION));
      const now = Date.now();
      const clients = [
        { phone: '8 (916) 823-34-54', email: 'Anna@Example.RU' },
        { phone: '+79161234567', email: 'boris@example.ru' },
        { phone: 'звонить секретарю', email: 'не указан' },
        { phone: null, email: null },
      ];
      await database.db.insertInto('clients').values(clients.map((c) => ({ ...c, first_name: 'Old', available: database.dialect.bool(true), created_at: now, updated_at: now }))).execute();
      await database.db.insertInto('companies').values({ name: 'ООО Старое', phone: '495 123 45 67', email: 'Office@Old.RU', created_at: now, updated_at: now }).execute();
    });
    after(async () => {
      await database.close();
      await scratch.drop();
    });

    it('writes readable old phones in E.164 and email domains in lower case, and leaves the rest as it was', async () => {
      assert.deepEqual((await migrateToLatest(database, MIGRATIONS)).applied, [MIGRATION]);
      const clients = await database.db.selectFrom('clients').select(['phone', 'email']).orderBy('id').execute();
      assert.deepEqual(clients, [
        { phone: '+79168233454', email: 'Anna@example.ru' },
        { phone: '+79161234567', email: 'boris@example.ru' },
        { phone: 'звонить секретарю', email: 'не указан' },
        { phone: null, email: null },
      ]);
      const [company] = await database.db.selectFrom('companies').select(['phone', 'email']).execute();
      assert.deepEqual(company, { phone: '+74951234567', email: 'Office@old.ru' });
    });
  });
}
