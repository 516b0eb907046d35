import { isDeepStrictEqual } from 'node:util';

// A key with dots is the same as the nested form (`plugin.roistat.enabled: true` ==
// `plugin: {roistat: {enabled: true}}`), as in BGERP's properties files. Both spellings may be mixed
// in one file; the same key given twice with different values is a problem naming both spellings.

type Tree = Record<string, unknown>;

/** One value of a config file at its full key path, with how the file wrote it (for messages). */
export interface KeyEntry {
  path: string[];
  value: unknown;
  /** How the file spelled the key, e.g. "plugin.roistat.enabled" or "plugin: {roistat: {enabled}}". */
  spelling: string;
  /** file:line, where the parser knows it. */
  where?: string;
}

export function isPlainObject(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Dotted paths of the sections whose keys are names chosen by the user (the schema's records, e.g.
 * `flows.modules`), not config keys: a dot there is part of the name (`bitrix24.find-contact`).
 */
export function namedSections(schema: unknown, prefix = '', out = new Set<string>()): Set<string> {
  const node = schema as { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown> };
  if (node.patternProperties) out.add(prefix);
  for (const [key, inner] of Object.entries(node.properties ?? {})) namedSections(inner, prefix ? `${prefix}.${key}` : key, out);
  return out;
}

/**
 * The leaves of a parsed YAML/JSON mapping; mappings are walked, lists and scalars are values. Keys
 * directly inside a `named` section are kept whole (in a .properties file such a name cannot be written).
 */
export function entriesOfMapping(tree: Tree, named: ReadonlySet<string> = new Set(), written: string[] = [], prefix: string[] = []): KeyEntry[] {
  const entries: KeyEntry[] = [];
  const keepWhole = named.has(prefix.join('.'));
  for (const [key, value] of Object.entries(tree)) {
    const path = [...prefix, ...(keepWhole ? [key] : key.split('.'))];
    const spelledAs = [...written, key];
    if (isPlainObject(value) && Object.keys(value).length > 0) entries.push(...entriesOfMapping(value, named, spelledAs, path));
    else entries.push({ path, value, spelling: spell(spelledAs) });
  }
  return entries;
}

function spell(written: string[]): string {
  const inner = written.slice(1).reduceRight((acc, key) => (acc ? `${key}: {${acc}}` : key), '');
  return `"${inner ? `${written[0]}: {${inner}}` : written[0]}"`;
}

export interface BuiltTree {
  tree: Tree;
  problems: string[];
  /** dotted key → file:line, where the parser knew it. */
  where: Map<string, string>;
  /** Keys given twice: the first value stays in the tree, the clash is the one problem worth reporting. */
  clashes: string[];
}

/** Builds the nested tree; every clash and every key with an empty part is reported. */
export function treeOfEntries(entries: KeyEntry[]): BuiltTree {
  const tree: Tree = {};
  const problems: string[] = [];
  const clashes: string[] = [];
  const owners = new Map<string, KeyEntry>(); // dotted path → the entry that set the value there
  const where = new Map<string, string>();

  for (const entry of entries) {
    const key = entry.path.join('.');
    if (entry.path.some((part) => part === '')) {
      problems.push(`${entry.spelling}: a key with an empty part (two dots in a row, or a dot at an end)`);
      continue;
    }
    let node = tree;
    let blocked: KeyEntry | undefined;
    for (let i = 0; i < entry.path.length - 1 && !blocked; i++) {
      const part = entry.path[i];
      if (node[part] === undefined) node[part] = {};
      if (isPlainObject(node[part])) node = node[part] as Tree;
      else blocked = owners.get(entry.path.slice(0, i + 1).join('.'));
    }
    const last = entry.path[entry.path.length - 1];
    const existing = node[last];
    const emptySection = isPlainObject(entry.value) && Object.keys(entry.value).length === 0;
    if (!blocked && existing !== undefined) {
      if (isPlainObject(existing)) {
        if (!emptySection) blocked = [...owners.entries()].find(([k]) => k.startsWith(`${key}.`))?.[1] ?? owners.get(key);
      } else if (!isDeepStrictEqual(existing, entry.value)) {
        blocked = owners.get(key);
      }
    }
    if (blocked) {
      const clashKey = blocked.path.length <= entry.path.length ? blocked.path.join('.') : key;
      problems.push(`${clashKey}: given twice with different values, as ${describe(blocked)} and as ${describe(entry)}`);
      clashes.push(clashKey);
      continue;
    }
    if (existing === undefined) {
      node[last] = emptySection ? {} : entry.value;
      owners.set(key, entry);
      if (entry.where) where.set(key, entry.where);
    }
  }
  return { tree, problems, where, clashes };
}

function describe(entry: KeyEntry): string {
  return entry.where ? `${entry.spelling} (${entry.where})` : entry.spelling;
}
