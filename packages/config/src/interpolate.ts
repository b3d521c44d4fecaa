import { InterpolationError } from './errors.js';

// `$${` escapes, `${NAME}` and `${NAME:default}` substitute; the default may be empty.
const TOKEN_RE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

export interface InterpolateContext {
  worker: string;
  key: string;
  env: Record<string, string | undefined>;
  /** Told of every `${VAR}` filled in: with the variable's value, or with its default (`fromEnv` false). */
  onSubstitute?: (variable: string, value: string, fromEnv: boolean) => void;
}

/**
 * Substitutes `${VAR}` / `${VAR:default}` from `env`; `$${...}` is a literal `${...}`.
 * An unset variable without a default throws {@link InterpolationError} naming worker, key and variable.
 */
export function interpolate(value: string, ctx: InterpolateContext): string {
  return value.replace(TOKEN_RE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const v = ctx.env[name!];
    if (v !== undefined) {
      ctx.onSubstitute?.(name!, v, true);
      return v;
    }
    if (fallback === undefined) throw new InterpolationError(ctx.worker, ctx.key, name!);
    ctx.onSubstitute?.(name!, fallback, false);
    return fallback;
  });
}
