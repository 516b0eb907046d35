import { hash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AppError } from '../errors/index.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import type { Principal } from './permissions.js';

/** Looks up an employee who may sign in; null when no active employee has that username. */
export interface PrincipalStore {
  findByUsername(username: string): Promise<{ principal: Principal; passwordHash: string } | null>;
}

export interface AuthOptions {
  cacheTtlMs: number;
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  lockoutBaseMs: number;
  lockoutMaxMs: number;
  /** Cost of the stored hashes, so a sign-in for an unknown user takes as long as for a known one. */
  passwordHashCost: number;
}

interface FailureRecord {
  failures: number;
  lockedUntil: number;
}

const MAX_TRACKED = 10_000;

/**
 * Verifies Basic Auth credentials. A verified (username, password) pair is cached briefly under a
 * salted SHA-256 (random salt per process), so authenticated requests do not pay a memory-hard
 * hash each; the cache never holds a password. Repeated failures lock the user and the address out with
 * exponential backoff.
 */
export class Authenticator {
  private readonly cacheSalt = randomBytes(32).toString('base64');
  private readonly cache = new Map<string, { principal: Principal; expiresAt: number }>();
  /** One verification per credentials at a time: a burst of new connections pays one hash, not hundreds. */
  private readonly inflight = new Map<string, Promise<Principal>>();
  private generation = 0;
  private readonly userFailures = new Map<string, FailureRecord>();
  private readonly addressFailures = new Map<string, FailureRecord>();

  constructor(
    private readonly store: PrincipalStore,
    private readonly options: AuthOptions,
    private readonly clock: Clock,
  ) {}

  /** Synchronous when the credentials were verified moments ago (the common case), a promise otherwise. */
  authenticate(username: string, password: string, address: string): Principal | Promise<Principal> {
    const now = this.clock.now();
    // A salted SHA-256 of the credentials (one-shot hash: a fifth of an HMAC's cost per request).
    const cacheId = hash('sha256', `${this.cacheSalt}\0${username}\0${password}`, 'base64');
    // Lock-out first: while locked, even a correct (cached) password gets no answer but 429.
    this.refuseIfLocked(this.userFailures.get(username), now);
    this.refuseIfLocked(this.addressFailures.get(address), now);
    const cached = this.cache.get(cacheId);
    if (cached && cached.expiresAt > now) return cached.principal;
    const pending = this.inflight.get(cacheId);
    if (pending) return pending;
    const verification = this.verify(username, password, address, cacheId, now).finally(() => this.inflight.delete(cacheId));
    this.inflight.set(cacheId, verification);
    return verification;
  }

  private async verify(username: string, password: string, address: string, cacheId: string, now: number): Promise<Principal> {
    const generation = this.generation;
    const found = await this.store.findByUsername(username);
    const ok = await verifyPassword(password, found?.passwordHash ?? (await dummyPasswordHash(this.options.passwordHashCost)));
    if (!found || !ok) {
      this.recordFailure(this.userFailures, username, this.options.maxFailuresPerUser, now);
      this.recordFailure(this.addressFailures, address, this.options.maxFailuresPerAddress, now);
      throw new AppError('BAD_CREDENTIALS');
    }
    this.userFailures.delete(username);
    this.addressFailures.delete(address);
    // A change committed while this verification ran must not be undone by caching its old answer.
    if (this.options.cacheTtlMs > 0 && generation === this.generation) {
      if (this.cache.size >= MAX_TRACKED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(cacheId, { principal: found.principal, expiresAt: now + this.options.cacheTtlMs });
    }
    return found.principal;
  }

  /** Forget every cached verification: after a password, role or employee change. */
  invalidate(): void {
    this.generation += 1;
    this.inflight.clear();
    this.cache.clear();
  }

  private refuseIfLocked(record: FailureRecord | undefined, now: number): void {
    if (record && record.lockedUntil > now) {
      const seconds = Math.ceil((record.lockedUntil - now) / 1000);
      throw new AppError('LOCKED_OUT', `Too many failed sign-ins; try again in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
    }
  }

  private recordFailure(map: Map<string, FailureRecord>, id: string, max: number, now: number): void {
    const record = map.get(id) ?? { failures: 0, lockedUntil: 0 };
    record.failures += 1;
    if (record.failures >= max) {
      const delay = Math.min(this.options.lockoutBaseMs * 2 ** (record.failures - max), this.options.lockoutMaxMs);
      record.lockedUntil = now + delay;
    }
    map.delete(id);
    if (map.size >= MAX_TRACKED) map.delete(map.keys().next().value!);
    map.set(id, record);
  }
}
