import { InterpolationError } from './errors.js';

// As in Compose, `$$` is one literal `$` wherever it stands (so `$${X}` is a literal `${X}`);
// `${NAME}` and `${NAME:default}` substitute; the default may be empty. Any other `$` is literal.
const TOKEN_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

export interface InterpolateContext {
  worker: string;
  key: string;
  env: Record<string, string | undefined>;
  /** Told of every `${VAR}` filled in: with the variable's value, or with its default (`fromEnv` false). */
  onSubstitute?: (variable: string, value: string, fromEnv: boolean) => void;
}

/**
 * Substitutes `${VAR}` / `${VAR:default}` from `env`; `$$` is a literal `$`, so `$${...}` is a
 * literal `${...}`. An unset variable without a default throws {@link InterpolationError} naming
 * worker, key and variable.
 */
export function interpolate(value: string, ctx: InterpolateContext): string {
  return value.replace(TOKEN_RE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$$') return '$';
    const v = ctx.env[name!];
    if (v !== undefined) {
      ctx.onSubstitute?.(name!, v, true);
      return v;
    }
    if (fallback === undefined) throw new InterpolationError(ctx.worker, ctx.key, name!);
    const value = fallback.replaceAll('$$', '$');
    ctx.onSubstitute?.(name!, value, false);
    return value;
  });
}

/**
 * The config.yaml text that {@link interpolate} turns back into exactly `value`: every `$` doubled.
 * Values that come from an image are written this way, so an image never reads the environment of
 * whoever runs `iii`.
 */
export function escapeInterpolation(value: string): string {
  return value.replaceAll('$', () => '$$');
}
