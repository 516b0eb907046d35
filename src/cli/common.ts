import { userInfo } from 'node:os';
import { createHub, type Hub } from '../hub.js';
import type { Config } from '../platform/config/index.js';
import { createLogger } from '../platform/logging/index.js';

// Helpers of the commands that work on a hub's database (`jobs`, `events`, `runs`).

/**
 * A hub for one command (createHub's `command`): no background work, no step runs here, no connections
 * to remote modules or for other processes' cancels, the flows as the hubs registered them; logs (the
 * audit line included) go to stderr, output to stdout.
 */
export async function withHub<T>(config: Readonly<Config>, work: (hub: Hub) => Promise<T>): Promise<T> {
  const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, process.stderr);
  const hub = await createHub(config, { demo: false, log, command: true });
  try {
    return await work(hub);
  } finally {
    await hub.close();
  }
}

/** Who made a change, for the audit line: `cli:<os user>`. */
export function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export function positive(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, not "${value}"`);
    return n;
  };
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** One line, at most `max` characters. */
export const cut = (text: string, max: number) => {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
