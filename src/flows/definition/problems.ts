/** One thing wrong with a flow, at a path like `steps.get-bitrix-deal.condition[0].operation`. */
export interface Problem {
  path: string;
  message: string;
  /** 1-based line in the file, when the flow came from a file and the path could be located. */
  line?: number;
}

export type PathPart = string | number;

/** `['steps', 'a', 'condition', 0, 'field']` → `steps.a.condition[0].field` */
export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out || '(root)';
}

/** A JSON pointer (`/steps/a/condition/0`) from schema errors, as path parts. */
export function pointerToParts(pointer: string): PathPart[] {
  return pointer
    .split('/')
    .slice(1)
    .map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^(0|[1-9]\d*)$/.test(part) ? Number(part) : part));
}
