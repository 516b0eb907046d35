// The reference point of the HTTP benchmarks: the hub's own Fastify (same version, same Node) with
// one route answering a constant JSON — no auth, no database, no logging. Run as a child process,
// like the hub, so both pay the same process and socket costs. Usage: baseline-server.ts <port>
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port });

const close = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', close);
process.on('SIGINT', close);
