import type { z } from 'zod';
import { JSON_SHAPES } from './json-shapes.js';

interface Row {
  key: string;
  type: string;
  description: string;
}

// biome-ignore lint/suspicious/noExplicitAny: walks zod's own definitions, whose types differ per kind.
type AnySchema = any;

function typeOf(schema: AnySchema): { type: string; inner: AnySchema; nullable: boolean } {
  let s = schema;
  let nullable = false;
  while (['nullable', 'optional', 'default'].includes(s.def.type)) {
    if (s.def.type === 'nullable') nullable = true;
    s = s.def.innerType;
  }
  const t: string = s.def.type;
  if (t === 'array') {
    const element = typeOf(s.def.element);
    return { type: `${element.type}[]`, inner: s, nullable };
  }
  return { type: t, inner: s, nullable };
}

function rows(schema: AnySchema, prefix: string, out: Row[]): void {
  for (const [key, field] of Object.entries(schema.shape as Record<string, AnySchema>)) {
    const path = `${prefix}${key}`;
    const { type, inner, nullable } = typeOf(field);
    out.push({
      key: path,
      type: `${type}${nullable ? ' \\| null' : ''}`,
      description: field.description ?? '',
    });
    if (inner.def.type === 'object') rows(inner, `${path}.`, out);
    if (inner.def.type === 'array' && inner.def.element.def.type === 'object')
      rows(inner.def.element, `${path}[].`, out);
  }
}

/** One markdown table per command: every key of its `--json` output, its type and meaning. */
export function renderJsonShapes(shapes: { command: string; schema: z.ZodObject }[] = JSON_SHAPES): string {
  const parts = [
    '# `--json` output',
    '',
    '<!-- Generated from apps/cli/src/lib/json-shapes.ts by `npm run docs:json`; do not edit by hand. -->',
    '',
    'What these commands print with `--json`: one JSON object, every key always present (`null` when',
    'it does not apply), so scripts never test for a missing key. The tables are generated from the',
    'schemas the commands use to build their output.',
    '',
    'The same keys, with a capital first letter, are the fields of `--format` templates:',
    "`iii worker list --format '{{.Name}} {{.Status}}'` takes the keys of a row of `workers`,",
    "`iii worker inspect <name> --format '{{.Digest}} {{.Run.Pid}}'` those of the whole object.",
  ];
  for (const { command, schema } of shapes) {
    const out: Row[] = [];
    rows(schema, '', out);
    parts.push('', `## \`${command} --json\``, '', '| key | type | meaning |', '|---|---|---|');
    for (const r of out) parts.push(`| \`${r.key}\` | ${r.type} | ${r.description.replaceAll('|', '\\|')} |`);
  }
  return `${parts.join('\n')}\n`;
}
