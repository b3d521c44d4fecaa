import { interpolate } from './interpolate.js';

/** Options of {@link flattenConfig}: the environment to interpolate from, and the worker for error messages. */
export interface FlattenOptions {
  /** When set, string values are interpolated from this environment. */
  env?: Record<string, string | undefined>;
  /** Worker name, for interpolation errors. */
  worker?: string;
}

/**
 * A flattened `config:` with where each value came from, so that what was filled from the
 * environment of `iii` can be shown as written instead of as resolved.
 */
export interface FlatConfig {
  /** The variables as the worker gets them. */
  values: Record<string, string>;
  /**
   * For each key whose value was filled from at least one `${VAR}` (or its default), the value as
   * written in config.yaml (`postgres://app:${S}@db/x`), flattened the same way.
   */
  written: Record<string, string>;
  /** Every value taken from the environment for a `${VAR}`, to scrub from messages that might quote it. */
  substituted: string[];
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
  return flattenConfigWithOrigins(config, opts).values;
}

/** {@link flattenConfig}, also telling which values were interpolated and how they were written. */
export function flattenConfigWithOrigins(
  config: Record<string, unknown> | null | undefined,
  opts: FlattenOptions = {},
): FlatConfig {
  const values: Record<string, string> = {};
  const written: Record<string, string> = {};
  const substituted = new Set<string>();
  const worker = opts.worker ?? '';
  const expand = (value: unknown, key: string, touched: { yes: boolean }): unknown => {
    if (!opts.env) return value;
    if (typeof value === 'string') {
      return interpolate(value, {
        worker,
        key,
        env: opts.env,
        onSubstitute: (_name, text, fromEnv) => {
          touched.yes = true;
          if (fromEnv && text !== '') substituted.add(text);
        },
      });
    }
    if (Array.isArray(value)) return value.map((v) => expand(v, key, touched));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, key, touched)]));
    }
    return value;
  };
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      for (const [k, v] of Object.entries(value))
        walk(v, prefix ? `${prefix}_${k.toUpperCase()}` : k.toUpperCase());
      return;
    }
    const touched = { yes: false };
    values[prefix] = envText(expand(value, prefix, touched));
    if (touched.yes) written[prefix] = envText(value);
  };
  for (const [k, v] of Object.entries(config ?? {})) walk(v, k.toUpperCase());
  return { values, written, substituted: [...substituted] };
}

function envText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}
