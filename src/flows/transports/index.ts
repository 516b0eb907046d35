// Flows transports: how the dispatcher reaches a module over HTTP, NATS JetStream or RabbitMQ, and
// the helpers a Node module uses to serve the queue contract (docs/flows-module-contract.md).
export { createHttpTransport, type HttpTransport, type HttpTransportOptions, type HttpStepRequest } from './http.js';
export {
  createNatsTransport,
  serveNatsModule,
  natsConsumerName,
  DEFAULT_NATS_STREAM,
  DEFAULT_NATS_SUBJECT_PREFIX,
  REPLY_TO_HEADER,
  CORRELATION_HEADER,
  type NatsTransportOptions,
  type NatsModuleOptions,
} from './nats.js';
export { createRabbitTransport, serveRabbitModule, DEFAULT_RABBIT_QUEUE_PREFIX, type RabbitTransportOptions, type RabbitModuleOptions } from './rabbit.js';
export type { ModuleHandler, ModuleAnswer, ServedModule } from './module-side.js';
export { parseModuleAnswer, type TransportLog } from './outcome.js';
export { signConveyorBody, verifyConveyorSignature, verifyConveyorRequest, SIGNATURE_TOLERANCE_SECONDS } from './signature.js';
