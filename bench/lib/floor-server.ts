import { hash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

// The smallest server that does what the hub's authenticated GET /clients/:id does: Basic credentials
// checked against a salted-hash cache, an integer :id, one prepared read on a read-only SQLite
// connection (WAL), the row mapped to the same fields, and a response schema. It shows what share of
// the bare route such a read can reach on this machine at best (bench/floor.sh, bench/README.md).
// `/nosql/:id` is the same route answering from a row read once at start.
//
// Usage: node --import tsx bench/lib/floor-server.ts <sqlite file> <port>

const [file, port] = [process.argv[2], Number(process.argv[3])];
if (!file || !Number.isInteger(port)) throw new Error('usage: floor-server.ts <sqlite file> <port>');
const writer = new Database(file);
writer.pragma('journal_mode = WAL');
writer.exec(`create table if not exists clients ("id" integer primary key autoincrement, "first_name" text, "last_name" text, "middle_name" text,
  "birth_date" bigint, "available" boolean default true not null, "email" text, "phone" text, "company_id" bigint, "social_media" text,
  "external_id" text unique, "created_at" bigint not null, "updated_at" bigint not null)`);
const insert = writer.prepare('insert into clients (first_name, last_name, middle_name, birth_date, email, phone, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)');
writer.transaction(() => {
  for (let i = 0; i < 10_000; i++) insert.run('Иван', `Иванов${i}`, 'Петрович', 631_152_000_000, `c${i}@example.ru`, '+79990000000', Date.now(), Date.now());
})();

const reader = new Database(file, { readonly: true });
reader.pragma('mmap_size = 268435456');
const byId = reader.prepare('select * from clients where id = ?');
const fixedRow = byId.get(77);

const salt = randomBytes(32).toString('base64');
const signedIn = new Map<string, true>();
const timestamp = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace('Z', '+00:00'));
const text = { type: 'string', nullable: true };
const ClientSchema = {
  type: 'object',
  properties: {
    clientId: { type: 'integer' }, firstName: text, lastName: text, middleName: text, birthDate: text, available: { type: 'boolean' },
    email: text, phone: text, companyId: { type: 'integer', nullable: true }, socialMedia: text, externalId: text,
    createTime: { type: 'string' }, updateTime: { type: 'string' }, booking: { type: 'object', nullable: true, additionalProperties: true },
  },
};

const app = Fastify({ logger: false });
for (const path of ['/clients/:id', '/nosql/:id']) {
  const fromDb = path.startsWith('/clients');
  app.get(
    path,
    {
      onRequest: (request, _reply, done) => {
        const header = request.headers.authorization ?? '';
        const credentials = Buffer.from(header.slice(6), 'base64').toString('utf8');
        const key = hash('sha256', `${salt}\0${credentials}`, 'base64');
        if (!signedIn.has(key)) {
          if (credentials !== 'Admin:admin') return done(Object.assign(new Error('bad credentials'), { statusCode: 401 }));
          signedIn.set(key, true);
        }
        done();
      },
      schema: { params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] }, response: { 200: ClientSchema } },
    },
    async (request) => {
      const row = (fromDb ? byId.get((request.params as { id: number }).id) : fixedRow) as Record<string, any>;
      return {
        clientId: row.id, firstName: row.first_name, lastName: row.last_name, middleName: row.middle_name, birthDate: timestamp(row.birth_date),
        available: !!row.available, email: row.email, phone: row.phone, companyId: row.company_id, socialMedia: row.social_media,
        externalId: row.external_id, createTime: timestamp(row.created_at), updateTime: timestamp(row.updated_at), booking: null,
      };
    },
  );
}
await app.listen({ port, host: '127.0.0.1' });
