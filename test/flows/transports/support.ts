import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StepCall } from '../../../src/flows/runtime/module.js';

export const NATS_SERVERS = process.env.NATS_URL ?? '127.0.0.1:4222';
export const RABBIT_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A name no other test (or earlier run) uses, so tests never share a stream, subject or queue. */
export const unique = (prefix: string) => `${prefix}${randomBytes(5).toString('hex')}`;

export function makeCall(overrides: Partial<StepCall> = {}): StepCall {
  const runId = unique('run-');
  return {
    runId,
    flowId: 'deals',
    flowVersion: 3,
    stepId: 'get-bitrix-deal',
    module: 'find-deal',
    attempt: 1,
    idempotencyKey: `${runId}:get-bitrix-deal`,
    input: { phone: '+79990001122' },
    options: { entity: 'deal' },
    deadline: Date.now() + 10_000,
    ...overrides,
  };
}

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

export type RawHandler = (req: IncomingMessage, body: string, res: ServerResponse) => unknown;

/** A real HTTP server on 127.0.0.1, port 0, handing each request's full body to `handler`. */
export async function startServer(handler: RawHandler): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handler(req, Buffer.concat(chunks).toString('utf8'), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** POSTs and returns the status, for a module calling back into the hub. */
export async function postText(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  await res.arrayBuffer();
  return res.status;
}
