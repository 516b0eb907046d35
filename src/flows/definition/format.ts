import { stringify } from 'yaml';

/** A flow as YAML for a git-friendly file: block style, no line folding, keys in the order given. */
export function stringifyFlow(definition: unknown): string {
  return stringify(definition, { lineWidth: 0, indent: 2 });
}
