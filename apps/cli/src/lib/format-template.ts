import { usageError } from './usage-error.js';

/**
 * `--format` as Docker users write it: `json` (one JSON object per line) or a Go-template-like line
 * such as `{{.Name}}\t{{.Status}}`. Supported actions: `{{.Field}}`, `{{.Field.Sub}}`, `{{json .}}` and
 * `{{json .Field}}`; `\t` and `\n` in the text are a tab and a newline. Field names are the keys of
 * the command's --json output with a capital first letter (`.Name`, `.StartedAt`), matched without
 * regard to case. Nothing else of Go templates (pipelines, if/range) is supported: it is an error.
 */
export type Formatter = ((row: Record<string, unknown>) => string) & {
  /** With `table <template>`: the header line (each field's name in capitals); rows are then aligned. */
  header?: string;
};

/** The fields a `--format` template may name: the keys of one row, each with the keys under it. */
export interface FieldSet {
  [key: string]: FieldSet | null;
}

type Part = string | { path: string[]; json: boolean };

const ACTION = /\{\{-?\s*(.*?)\s*-?\}\}/g;

function goName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

function invalid(message: string, hint?: string): Error {
  return usageError(Object.assign(new Error(message), hint ? { hint } : {}));
}

/** Resolves `.A.b` against the field set (case-insensitive) to the row's own keys. */
function resolvePath(expr: string, fields: FieldSet, example: string): string[] {
  if (expr === '.') return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(expr)) {
    throw invalid(
      `unsupported --format action "{{${expr}}}"`,
      `Use fields such as ${example}, {{json .}} or {{json .Field}}.`,
    );
  }
  const path: string[] = [];
  let level: FieldSet | null = fields;
  for (const name of expr.slice(1).split('.')) {
    const keys: string[] = level ? Object.keys(level) : [];
    const key = keys.find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined || !level) {
      const where = path.length > 0 ? `.${path.map(goName).join('.')}` : '';
      const valid = keys.map((k) => `${where}.${goName(k)}`).join(', ');
      throw invalid(
        `unknown field "${where}.${name}" in --format; valid fields: ${valid || `none under ${where}`}`,
        `For example: --format '${example}'.`,
      );
    }
    path.push(key);
    level = level[key] ?? null;
  }
  return path;
}

function valueText(value: unknown, json: boolean): string {
  if (json) return JSON.stringify(value ?? null);
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `StartedAt` → `STARTED AT`: a field's name as a table header. */
function headerName(path: string[]): string {
  const last = path.at(-1) ?? 'value';
  return last.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toUpperCase();
}

/**
 * Compiles `--format`; an unknown field or unsupported action is a usage error (exit 2) whose one
 * line lists the valid fields. `example` is shown as how to write one (e.g. `{{.Name}} {{.Status}}`).
 * With `table: true`, `table <template>` is accepted too (as in `docker ps`): a header line, and the
 * columns separated by `\t` aligned (formatColumns of columns.ts).
 */
export function compileFormat(
  format: string,
  fields: FieldSet,
  example: string,
  options: { table?: boolean } = {},
): Formatter {
  if (format.trim() === 'json') return (row) => JSON.stringify(row);
  const table = options.table === true && /^table(\s|$)/.test(format);
  const template = table ? format.replace(/^table\s*/, '') || example.replaceAll(' ', '\\t') : format;
  const text = template.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(ACTION)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    const expr = m[1]!;
    const json = /^json\s/.test(expr);
    parts.push({ path: resolvePath(json ? expr.replace(/^json\s+/, '') : expr, fields, example), json });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  if (!parts.some((p) => typeof p !== 'string')) {
    throw invalid(`--format "${format}" names no field`, `Give json or a template such as '${example}'.`);
  }
  const line: Formatter = (row) =>
    parts
      .map((p) => {
        if (typeof p === 'string') return p;
        let value: unknown = row;
        for (const key of p.path) value = (value as Record<string, unknown> | null | undefined)?.[key];
        return valueText(value, p.json);
      })
      .join('');
  if (table) line.header = parts.map((p) => (typeof p === 'string' ? p : headerName(p.path))).join('');
  return line;
}

/** The field set of a zod object schema: its keys, and those of objects (or arrays of them) under it. */
// biome-ignore lint/suspicious/noExplicitAny: walks zod's own definitions, whose types differ per kind.
export function fieldsOf(schema: any): FieldSet {
  const out: FieldSet = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, unknown>)) {
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    let s: any = field;
    while (['nullable', 'optional', 'default'].includes(s.def.type)) s = s.def.innerType;
    out[key] = s.def.type === 'object' ? fieldsOf(s) : null;
  }
  return out;
}
