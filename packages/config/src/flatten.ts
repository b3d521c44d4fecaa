import { interpolate } from './interpolate.js';

export interface FlattenOptions {
  /** When set, string values are interpolated from this environment. */
  env?: Record<string, string | undefined>;
  /** Worker name, for interpolation errors. */
  worker?: string;
}

/**
 * A worker's `config:` mapping as environment variables: nested keys joined with `_` and upper-cased,
 * numbers and booleans as text, arrays (and anything inside them) as JSON, null as the empty string.
 * With `env`, strings are interpolated first, so a substituted value is never re-parsed.
 */
export function flattenConfig(
  config: Record<string, unknown> | null | undefined,
  opts: FlattenOptions = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  const worker = opts.worker ?? '';
  const expand = (value: unknown, key: string): unknown => {
    if (!opts.env) return value;
    if (typeof value === 'string') return interpolate(value, { worker, key, env: opts.env });
    if (Array.isArray(value)) return value.map((v) => expand(v, key));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, key)]));
    }
    return value;
  };
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [k, v] of Object.entries(value))
        walk(v, prefix ? `${prefix}_${k.toUpperCase()}` : k.toUpperCase());
      return;
    }
    const expanded = expand(value, prefix);
    out[prefix] = envText(expanded);
  };
  for (const [k, v] of Object.entries(config ?? {})) walk(v, k.toUpperCase());
  return out;
}

function envText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}
