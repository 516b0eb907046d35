import assert from 'node:assert/strict';

/** A debug/warn log that keeps every line, serialised, so tests can search it (e.g. for secrets). */
export function captureLog(): { lines: string[]; debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void } {
  const lines: string[] = [];
  return {
    lines,
    debug: (obj, msg) => lines.push(`debug ${msg ?? ''} ${JSON.stringify(obj)}`),
    warn: (obj, msg) => lines.push(`warn ${msg ?? ''} ${JSON.stringify(obj)}`),
  };
}

/** What the promise rejected with; fails the test if it resolved. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}
