import { InterpolationError } from './errors.js';

// `$${` escapes, `${NAME}` and `${NAME:default}` substitute; the default may be empty.
const TOKEN_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

export interface InterpolateContext {
  worker: string;
  key: string;
  env: Record<string, string | undefined>;
}

/**
 * Substitutes `${VAR}` / `${VAR:default}` from `env`; `$${...}` is a literal `${...}`.
 * An unset variable without a default throws {@link InterpolationError} naming worker, key and variable.
 */
export function interpolate(value: string, ctx: InterpolateContext): string {
  return value.replace(TOKEN_RE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const v = ctx.env[name!];
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw new InterpolationError(ctx.worker, ctx.key, name!);
  });
}
