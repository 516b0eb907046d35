import { Engine, type Node } from 'php-parser';

/**
 * Imports the PHP-array settings of 001 (`'step' => [ 'subsystem' => …, 'condition' => [ … ] ]`) as a
 * flow object. The PHP is parsed by php-parser (glayzzle), never run: only literal arrays, strings,
 * numbers, true/false/null are accepted, and anything else is an error at its line:column.
 * Accepted wrappers: `<?php`, `return …;`, `$settings = …;`, a bare array, or — as the document
 * shows it — a bare run of `'key' => value` entries.
 */
export class PhpImportError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${line}:${column}: ${reason}`);
  }
}

export interface PhpImportOptions {
  /** Flow id to use (wins over an `id` in the settings). */
  id?: string;
  name?: string;
  /** Flow id when neither `id` nor the settings give one (the CLI passes the file's base name). */
  fallbackId?: string;
}

type Loc = { line: number; column: number };
type Located = Node & { kind: string; loc: { start: Loc } | null };

const engine = new Engine({ parser: { extractDoc: false, suppressErrors: false }, ast: { withPositions: true } });
const SKIPPED_TOKENS = new Set(['T_OPEN_TAG', 'T_WHITESPACE', 'T_COMMENT', 'T_DOC_COMMENT']);

/** Parses PHP-array text into plain values (lists for 0..n-1 keys, objects otherwise). */
export function parsePhpArray(text: string): unknown {
  return new Converter(text).value;
}

/** PHP-array settings → a flow definition object (not yet validated: pass it to parseFlow). */
export function importPhpArrayFlow(text: string, options: PhpImportOptions = {}): Record<string, unknown> {
  const converter = new Converter(text);
  const value = converter.value;
  const fail = (node: unknown, reason: string): never => {
    const at: Loc = (node !== null && typeof node === 'object' && converter.locations.get(node)) || { line: 1, column: 1 };
    throw new PhpImportError(reason, at.line, at.column);
  };
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

  let flowLevel: Record<string, unknown> = {};
  let steps: unknown = value;
  if (isMap(value) && Object.hasOwn(value, 'steps')) {
    ({ steps, ...flowLevel } = value);
  }
  if (Array.isArray(steps)) {
    // A list of steps: each must carry its id, which becomes its key.
    const keyed: Record<string, unknown> = {};
    for (const step of steps) {
      if (!isMap(step) || typeof step.id !== 'string') fail(step, "each step in a list needs an 'id'");
      const id = (step as { id: string }).id;
      if (Object.hasOwn(keyed, id)) fail(step, `step '${id}' appears twice`);
      keyed[id] = step;
    }
    steps = keyed;
  }
  const expected = "expected steps: an array of 'step-id' => [ 'subsystem' => …, … ]";
  if (!isMap(steps)) fail(steps, expected);
  for (const [key, step] of Object.entries(steps as Record<string, unknown>)) {
    if (!isMap(step)) fail(Array.isArray(step) ? step : steps, `step '${key}' is not an array of settings; ${expected}`);
  }

  const id = options.id ?? flowLevel.id ?? options.fallbackId ?? 'imported-flow';
  const name = options.name ?? flowLevel.name;
  const { id: _id, name: _name, ...rest } = flowLevel;
  return { id, ...(name === undefined ? {} : { name }), ...rest, steps };
}

class Converter {
  readonly value: unknown;
  /** Where each array came from, for errors found after conversion. */
  readonly locations = new WeakMap<object, Loc>();
  private readonly shift: number;

  constructor(source: string) {
    const text = source.replace(/^\uFEFF/, '');
    const hasTag = /^\s*<\?php/.test(text);
    const prefix = hasTag ? '' : isFragment(`<?php ${text}`) ? '<?php return [' : '<?php ';
    const suffix = prefix.endsWith('[') ? '\n];' : '';
    // The prefix sits on line 1, so only columns on line 1 move.
    this.shift = prefix.length;
    let program: { children: Located[] };
    try {
      program = engine.parseCode(prefix + text + suffix, 'settings.php') as unknown as { children: Located[] };
    } catch (err) {
      const e = err as Error & { lineNumber?: number; columnNumber?: number };
      const reason = e.message.replace(/^Parse Error : /, '').replace(/ on line \d+$/, '');
      throw new PhpImportError(reason, e.lineNumber ?? 1, this.column(e.lineNumber ?? 1, e.columnNumber ?? 0));
    }
    this.value = this.convert(this.settingsExpression(program.children));
  }

  private column(line: number, zeroBased: number): number {
    return Math.max(1, zeroBased + 1 - (line === 1 ? this.shift : 0));
  }

  private where(node: Located): Loc {
    const start = node.loc?.start ?? { line: 1, column: 0 };
    return { line: start.line, column: this.column(start.line, start.column) };
  }

  private fail(node: Located, reason: string): never {
    const at = this.where(node);
    throw new PhpImportError(reason, at.line, at.column);
  }

  /** The one array the file holds: `return X;`, `$x = X;` or a bare `X;`. */
  private settingsExpression(statements: Located[]): Located {
    const found: Located[] = [];
    for (const st of statements) {
      const s = st as Located & { expr?: Located; expression?: Located & { left?: Located; right?: Located } };
      if (s.kind === 'noop') continue;
      if (s.kind === 'return' && s.expr) found.push(s.expr);
      else if (s.kind === 'expressionstatement' && s.expression?.kind === 'assign' && s.expression.right) found.push(s.expression.right);
      else if (s.kind === 'expressionstatement' && s.expression?.kind === 'array') found.push(s.expression);
      else this.fail(s, `only literal settings can be imported, not a ${s.kind} statement`);
    }
    if (found.length === 0) throw new PhpImportError('no settings found: expected return [ … ]; or $settings = [ … ];', 1, 1);
    if (found.length > 1) this.fail(found[1], 'more than one settings array: keep one return [ … ]; or $settings = [ … ];');
    return found[0];
  }

  private convert(node: Located): unknown {
    const n = node as Located & Record<string, unknown>;
    switch (n.kind) {
      case 'array':
        return this.convertArray(n as unknown as Located & { items: Located[] });
      case 'string':
      case 'nowdoc':
        return n.value as string;
      case 'number':
        return phpNumber(String(n.value));
      case 'boolean':
        return n.value as boolean;
      case 'nullkeyword':
        return null;
      case 'unary': {
        const operand = n.what as Located;
        if ((n.type === '-' || n.type === '+') && operand.kind === 'number') {
          const v = phpNumber(String((operand as unknown as { value: string }).value));
          return n.type === '-' ? -v : v;
        }
        return this.fail(node, `the operator ${String(n.type)} cannot be imported: write the value itself`);
      }
      case 'encapsed': {
        const parts = (n.value as (Located & { expression: Located & { value?: unknown } })[]) ?? [];
        if (parts.every((p) => p.expression.kind === 'string')) return parts.map((p) => String(p.expression.value)).join('');
        return this.fail(node, 'a string with $variables or {$expressions} cannot be imported: use single quotes or escape the $');
      }
      case 'name':
        return this.fail(node, `the constant ${String(n.name)} cannot be imported: write its value`);
      default:
        return this.fail(node, `a ${n.kind} cannot be imported: only arrays, strings, numbers, true, false and null`);
    }
  }

  private convertArray(node: Located & { items: Located[] }): unknown {
    const entries: [string | number, unknown][] = [];
    const firstSeen = new Map<string, Loc>();
    let nextIndex = 0;
    for (const raw of node.items) {
      if (raw.kind === 'noop') continue;
      const entry = (raw.kind === 'entry' ? raw : { kind: 'entry', key: null, value: raw, loc: raw.loc }) as Located & {
        key: Located | null;
        value: Located;
        byRef?: boolean;
        unpack?: boolean;
      };
      if (entry.byRef || entry.unpack) this.fail(entry, 'references (&) and unpacking (...) cannot be imported');
      let key: string | number;
      if (entry.key === null) key = nextIndex;
      else {
        const k = this.convert(entry.key);
        if (typeof k === 'string') key = /^(0|-?[1-9]\d*)$/.test(k) ? Number(k) : k; // as PHP does: '5' is key 5
        else if (typeof k === 'number' && Number.isInteger(k)) key = k;
        else this.fail(entry.key, 'an array key must be a string or an integer');
      }
      if (typeof key === 'number') nextIndex = Math.max(nextIndex, key + 1);
      const seen = firstSeen.get(String(key));
      if (seen) this.fail(entry.key ?? entry, `the key '${key}' appears twice (first at ${seen.line}:${seen.column})`);
      firstSeen.set(String(key), this.where(entry.key ?? entry));
      entries.push([key, this.convert(entry.value)]);
    }
    const isList = entries.every(([key], index) => key === index);
    const value = isList ? entries.map(([, v]) => v) : Object.fromEntries(entries.map(([k, v]) => [String(k), v]));
    this.locations.set(value, this.where(node));
    return value;
  }
}

/** The document shows a bare `'key' => [ … ]` run with no array around it. */
function isFragment(code: string): boolean {
  let tokens: (string | string[])[];
  try {
    tokens = engine.tokenGetAll(code);
  } catch {
    return false;
  }
  const significant = tokens.filter((t) => !(Array.isArray(t) && SKIPPED_TOKENS.has(t[0]))).slice(0, 2);
  const [first, second] = significant.map((t) => (Array.isArray(t) ? t[0] : t));
  return ['T_CONSTANT_ENCAPSED_STRING', 'T_LNUMBER'].includes(first ?? '') && second === 'T_DOUBLE_ARROW';
}

function phpNumber(raw: string): number {
  const s = raw.replaceAll('_', '').toLowerCase();
  if (/^0x[0-9a-f]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0b[01]+$/.test(s)) return parseInt(s.slice(2), 2);
  if (/^0o?[0-7]+$/.test(s) && s !== '0') return parseInt(s.replace(/^0o?/, ''), 8);
  return Number(s);
}
