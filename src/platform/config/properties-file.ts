import { basename } from 'node:path';
import { Properties, PropertiesNodeType } from 'properties-file/parser';
import type { KeyEntry } from './dotted-keys.js';

// Java properties syntax (BGERP's config files) through the properties-file package, which follows
// java.util.Properties: #/! comments, = : or blank separators, backslash continuations, \uXXXX.

/**
 * The entries of a .properties text. Values are strings (the schema converts them) with surrounding
 * whitespace trimmed; an empty value means the key is not set, as BGERP reads `key=`.
 */
export function entriesOfProperties(text: string, path: string): { entries: KeyEntry[]; problems: string[] } {
  const file = basename(path);
  let parsed: Properties;
  try {
    parsed = new Properties(text);
  } catch (err) {
    // The parser stops at a malformed \u escape without a line number: find the line ourselves.
    const message = (err as Error).message;
    const bad = /'(.*)'/.exec(message)?.[1];
    const line = bad ? text.split(/\r\n|\r|\n/).findIndex((l) => l.includes(bad)) + 1 : 0;
    return { entries: [], problems: [`config file ${path}${line > 0 ? ` line ${line}` : ''}: ${message}`] };
  }
  const entries: KeyEntry[] = [];
  for (const node of parsed.nodes) {
    if (node.type !== PropertiesNodeType.PROPERTY) continue;
    const value = node.value.trim();
    if (value === '') continue;
    entries.push({ path: node.key.trim().split('.'), value, spelling: `"${node.key.trim()}"`, where: `${file}:${node.startingLineNumber}` });
  }
  return { entries, problems: [] };
}
