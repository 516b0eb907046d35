import type { Db, ModuleMigration } from '../../platform/db/index.js';
import { normaliseEmail, normalisePhone } from '../values/index.js';

const TABLES = ['clients', 'contacts', 'companies', 'employees'] as const;
const BATCH = 1000;

/**
 * Phones and emails written before the directory checked them get the form new ones are stored in
 * (E.164, lower-case email domain), so that a lookup by phone finds old and new records alike. A value
 * that does not read as a phone or an email is left as it was: it is shown, and refused only when edited.
 */
export const contactValuesMigration: ModuleMigration = {
  name: '0102_directory_contact_values',
  async up(db: Db) {
    for (const table of TABLES) {
      for (let after = 0; ; ) {
        const rows = await db.selectFrom(table).select(['id', 'phone', 'email']).where('id', '>', after).orderBy('id').limit(BATCH).execute();
        if (rows.length === 0) break;
        for (const row of rows) {
          const phone = typeof row.phone === 'string' ? (normalisePhone(row.phone) ?? row.phone) : row.phone;
          const email = typeof row.email === 'string' ? (normaliseEmail(row.email) ?? row.email) : row.email;
          if (phone !== row.phone || email !== row.email) await db.updateTable(table).set({ phone, email }).where('id', '=', row.id).execute();
        }
        after = Number(rows.at(-1)!.id);
      }
    }
  },
};
