import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { parseFlow, type ParseOptions, type ParseResult } from './parse.js';
import { importPhpArrayFlow, PhpImportError } from './php-import.js';
import type { Problem } from './problems.js';

/**
 * Reads a flow file — YAML or JSON (one parser: JSON is YAML), or PHP-array settings as in 001,
 * imported on the fly — and checks it. Problems carry the line they point at where it can be found.
 */
export async function loadFlowFile(path: string, options: ParseOptions = {}): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { problems: [{ path: '(file)', message: `cannot read the file: ${(err as Error).message}` }] };
  }
  if (extname(path).toLowerCase() === '.php') {
    try {
      return parseFlow(importPhpArrayFlow(text, { fallbackId: flowIdFromFileName(path) }), path, options);
    } catch (err) {
      if (err instanceof PhpImportError) return { problems: [{ path: '(file)', message: err.message, line: err.line }] };
      throw err;
    }
  }
  return parseFlowText(text, path, options);
}

/** Parses YAML/JSON text and checks the flow in it. */
export function parseFlowText(text: string, source: string, options: ParseOptions = {}): ParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({ path: '(file)', message: `not valid YAML/JSON: ${e.message.split('\n')[0]}`, line: lines.linePos(e.pos[0]).line })),
    };
  }
  const result = parseFlow(doc.toJS(), source, options);
  if (result.problems) {
    // Top to bottom, as a person reads the file; problems without a line last.
    result.problems = result.problems.map((p) => ({ ...p, line: lineOf(doc, lines, p) })).sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  }
  return result;
}

/** `settings/001-deal.flow.yaml` → `001-deal` */
export function flowIdFromFileName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/(\.flow)?\.[^.]+$/, '').replace(/[^\p{L}\p{N}_-]+/gu, '-') || 'flow';
}

/** The line of the deepest key or item the problem's path reaches (`steps.a.condition[0].field`). */
function lineOf(doc: Document, lines: LineCounter, problem: Problem): number | undefined {
  if (problem.path === '(root)' || problem.path === '(file)') return undefined;
  const parts = problem.path.split(/\.|(?=\[)/).map((p) => (/^\[\d+\]$/.test(p) ? Number(p.slice(1, -1)) : p));
  for (let n = parts.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(parts.slice(0, n - 1), true);
    const last = parts[n - 1];
    let node: unknown;
    if (isMap(parent)) node = parent.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(last))?.key;
    else if (isSeq(parent) && typeof last === 'number') node = parent.items[last];
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
