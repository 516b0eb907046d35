import { hash, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
const port = Number(process.argv[2]);
const salt = randomBytes(32).toString('base64');
const signedIn = new Set<string>();
const text = { type: 'string', nullable: true };
const ClientSchema = { type: 'object', properties: {
  clientId: { type: 'integer' }, firstName: text, lastName: text, middleName: text, birthDate: text, available: { type: 'boolean' },
  email: text, phone: text, companyId: { type: 'integer', nullable: true }, socialMedia: text, externalId: text,
  createTime: { type: 'string' }, updateTime: { type: 'string' }, booking: { type: 'object', nullable: true, additionalProperties: true } } };
const obj = { clientId: 77, firstName: 'Иван', lastName: 'Иванов77', middleName: 'Петрович', birthDate: '1990-01-01T00:00:00.000+00:00', available: true,
  email: 'c77@example.ru', phone: '+79990000000', companyId: null, socialMedia: null, externalId: null, createTime: '2026-12-03T10:00:00.000+00:00', updateTime: '2026-12-03T10:00:00.000+00:00', booking: null };
const str = JSON.stringify(obj);
const idp = { params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } };
const hook = (request: any, _r: any, done: any) => {
  const credentials = Buffer.from((request.headers.authorization ?? '').slice(6), 'base64').toString('utf8');
  const key = hash('sha256', `${salt}\0${credentials}`, 'base64');
  if (!signedIn.has(key)) signedIn.add(key);
  done();
};
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.get('/sync', (_q, r) => { r.send({ hello: 'world' }); });
app.get('/p/:id', { schema: idp }, async () => ({ hello: 'world' }));
app.get('/h', { onRequest: hook }, async () => ({ hello: 'world' }));
app.get('/bigstr', async (_q, r) => { r.type('application/json; charset=utf-8'); return str; });
app.get('/bigschema', { schema: { response: { 200: ClientSchema } } }, async () => ({ ...obj }));
app.get('/full/:id', { onRequest: hook, schema: { ...idp, response: { 200: ClientSchema } } }, async () => ({ ...obj }));
await app.listen({ host: '127.0.0.1', port });
