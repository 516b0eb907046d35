// `node --import tsx nats-modules.ts <nats url>`: serves the same stand-ins as standins.ts over NATS
// JetStream in its own process, so the NATS case measures the queue transport, not a faster module.
import { serveNatsModule } from '../../../src/flows/index.js';
import { natsName } from './data.js';
import { flowModules } from './standins.js';

const servers = process.argv[2];
if (!servers) throw new Error('usage: nats-modules.ts <nats://host:port>');
// The stand-ins never look at a signal, so their handlers declare none (as a module that needs no deadline signal would).
const unused = new AbortController().signal;
const served = await Promise.all(flowModules.map((m) => serveNatsModule({ servers, module: natsName(m.name), handler: (input, call) => m.run(input, call, unused), concurrency: 64 })));
console.log('ready');
process.once('SIGTERM', () => void Promise.all(served.map((s) => s.close())).finally(() => process.exit(0)));
