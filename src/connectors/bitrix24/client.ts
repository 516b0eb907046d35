import type { Bitrix24Auth } from './auth.js';
import { runBatch, type Bitrix24BatchCommand, type Bitrix24BatchOptions, type Bitrix24BatchResult } from './batch.js';
import { createCrm, type Bitrix24Crm } from './crm.js';
import { createTransport, type Bitrix24Caller, type Bitrix24ClientOptions } from './transport.js';

export interface Bitrix24Client extends Bitrix24Caller, Bitrix24Crm {
  /** Named commands through `batch`, split into requests of ≤ 50, with a result or typed error per key. */
  batch(commands: Record<string, Bitrix24BatchCommand>, opts?: Bitrix24BatchOptions): Promise<Bitrix24BatchResult>;
}

/**
 * A Bitrix24 REST client over global fetch: per-portal leaky-bucket limiter, bounded retries on
 * QUERY_LIMIT_EXCEEDED, typed errors, and secrets (webhook URL, token) kept out of logs and errors.
 */
export function createBitrix24Client(auth: Bitrix24Auth, options: Bitrix24ClientOptions = {}): Bitrix24Client {
  const caller = createTransport(auth, options);
  return {
    ...caller,
    ...createCrm(caller),
    batch: (commands, opts) => runBatch(caller, commands, opts),
  };
}
