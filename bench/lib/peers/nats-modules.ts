// `node --import tsx nats-modules.ts <nats url>`: serves the same stand-ins as standins.ts over NATS
// JetStream in its own process, so the NATS case measures the queue transport, not a faster module.
import { serveNatsModule } from '../../../src/flows/index.js';
import { natsName } from './data.js';
import { flowModules } from './standins.js';

const servers = process.argv[2];
if (!servers) throw new Error('usage: nats-modules.ts <nats://host:port>');
const served = await Promise.all(flowModules.map((m) => serveNatsModule({ servers, module: natsName(m.name), handler: (input, call, signal) => m.run(input, call, signal), concurrency: 64 })));
console.log('ready');
process.once('SIGTERM', () => void Promise.all(served.map((s) => s.close())).finally(() => process.exit(0)));
