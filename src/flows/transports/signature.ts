import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's X-Conveyor-Timestamp may be from the module's clock (either way), in seconds. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** `sha256=<hex HMAC-SHA256 of "<prefix>.<body>">`; the prefix is the timestamp (requests) or the callback token (callbacks). */
export function signConveyorBody(secret: string, prefix: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${prefix}.${body}`).digest('hex')}`;
}

/** Constant-time check of a `sha256=<hex>` signature; false for a missing or malformed one. */
export function verifyConveyorSignature(secret: string, prefix: string, body: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signConveyorBody(secret, prefix, body));
  const given = Buffer.from(signature.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** For a module written in TypeScript: verify a Conveyor request (signature and replay window). */
export function verifyConveyorRequest(
  secret: string,
  timestamp: string | undefined,
  body: string,
  signature: string | undefined,
  nowMs = Date.now(),
): boolean {
  if (!timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  return verifyConveyorSignature(secret, timestamp, body, signature);
}
