import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

// Summarises a V8 .cpuprofile (from `node --cpu-prof`) into where the time went: self time by
// package / source file, the hottest functions, and inclusive time of the hub's own functions.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Milliseconds of samples inside the window (idle included). */
  totalMs: number;
  busyPercent: number;
  byGroup: Share[];
  topSelf: Share[];
  /** Inclusive time of functions in src/ (a stack counts each function once). */
  topHubInclusive: Share[];
}

const ROOT = new URL('../../', import.meta.url).href; // file:///…/main/

/** `windowUs`: [start, end] on the monotonic clock (process.hrtime / 1000) to keep; default all. */
export function summariseProfile(file: string, windowUs?: [number, number], top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (windowUs && (t < windowUs[0] || t > windowUs[1])) continue;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + delta);
    total += delta;
  }

  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  const hubInclusive = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') idle += us;
    add(groups, group(frame), us);
    add(functions, label(frame), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url.startsWith(`${ROOT}src/`)) continue;
      const key = label(f);
      if (!seen.has(key)) {
        seen.add(key);
        add(hubInclusive, key, us);
      }
    }
  }
  const busy = total - idle;
  const shares = (m: Map<string, number>, n: number, base = busy) =>
    [...m]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((1000 * us) / Math.max(base, 1)) / 10 }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    busyPercent: Math.round((1000 * busy) / Math.max(total, 1)) / 10,
    byGroup: shares(groups, top),
    topSelf: shares(functions, top),
    topHubInclusive: shares(hubInclusive, top),
  };
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function group(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').replace(/\/.*$/, '');
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  return url;
}

function label(frame: CallFrame): string {
  const where = frame.url.startsWith(ROOT) ? frame.url.slice(ROOT.length) : frame.url.replace(/^.*\/node_modules\//, '');
  return `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
}

export function formatProfile(s: ProfileSummary): string {
  const rows = (title: string, list: Share[]) => [`  ${title}`, ...list.map((x) => `    ${x.percent.toFixed(1).padStart(5)}%  ${String(x.ms).padStart(6)} ms  ${x.name}`)];
  return [
    `profile ${s.file}: ${s.totalMs} ms sampled, ${s.busyPercent}% busy (shares below are of busy time)`,
    ...rows('self time by package / file:', s.byGroup),
    ...rows('hottest functions (self):', s.topSelf),
    ...rows('hub functions (inclusive):', s.topHubInclusive),
  ].join('\n');
}

/** Summarises a hub's main-thread profile over the measured window and prints it (the --profile option). */
export function reportProfile(file: string | undefined, windowUs: [number, number], root: string): ProfileSummary {
  if (!file) throw new Error('the hub wrote no CPU profile for its main thread');
  const summary = summariseProfile(file, windowUs);
  // The bench's work folder goes at the end; BENCH_KEEP_PROFILES=<folder> keeps each profile for a closer look.
  const keep = process.env.BENCH_KEEP_PROFILES;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    copyFileSync(file, join(keep, basename(file)));
    console.log(`    profile kept as ${join(keep, basename(file))}`);
  }
  summary.file = relative(root, summary.file);
  console.log(formatProfile(summary).replace(/^/gm, '    '));
  return summary;
}
