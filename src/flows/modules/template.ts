import { getPath } from '../conditions/path.js';

const WHOLE = /^\{\{\s*([^{}\s]+)\s*\}\}$/;
const PART = /\{\{\s*([^{}\s]+)\s*\}\}/g;

/**
 * Fills `{{ path }}` placeholders from `scope` (dot paths, as in conditions). A string that is one
 * placeholder takes the value as it is (a number stays a number, a missing value is null); placeholders
 * inside text are written as text. Objects and lists are filled throughout. No expressions, no eval.
 */
export function render(template: unknown, scope: unknown): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole) return getPath(scope, whole[1]!) ?? null;
    return template.replace(PART, (_, path: string) => textOf(getPath(scope, path)));
  }
  if (Array.isArray(template)) return template.map((item) => render(item, scope));
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) out[key] = render(value, scope);
    return out;
  }
  return template;
}

function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
