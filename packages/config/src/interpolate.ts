import { InterpolationError } from './errors.js';

// As in Compose, `$$` is one literal `$` wherever it stands (so `$${X}` is a literal `${X}`);
// `${NAME}` and `${NAME:default}` substitute; the default may be empty. Any other `$` is literal.
const TOKEN_RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

/** What {@link interpolate} needs: the worker and key (for errors), the environment, and who to tell of each substitution. */
export interface InterpolateContext {
  worker: string;
  key: string;
  env: Record<string, string | undefined>;
  /** Told of every `${VAR}` filled in: with the variable's value, or with its default (`fromEnv` false). */
  onSubstitute?: (variable: string, value: string, fromEnv: boolean) => void;
}

/** One piece of a config.yaml string: literal text (`$$` already made `$`) or a `${VAR}` / `${VAR:default}`. */
export type InterpolationPart = { text: string } | { variable: string; default?: string };

/**
 * A config.yaml string split the way {@link interpolate} reads it, so other forms of the same value
 * (a Compose file, a shell command) are written from the one grammar. A default has its `$$` made `$`.
 */
export function interpolationParts(value: string): InterpolationPart[] {
  const parts: InterpolationPart[] = [];
  const text = (t: string) => {
    const last = parts.at(-1);
    if (last && 'text' in last) last.text += t;
    else if (t !== '') parts.push({ text: t });
  };
  let at = 0;
  for (const m of value.matchAll(TOKEN_RE)) {
    text(value.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[0] === '$$') text('$');
    else
      parts.push({
        variable: m[1]!,
        ...(m[2] !== undefined ? { default: m[2].replaceAll('$$', '$') } : {}),
      });
  }
  text(value.slice(at));
  return parts;
}

/**
 * Substitutes `${VAR}` / `${VAR:default}` from `env`; `$$` is a literal `$`, so `$${...}` is a
 * literal `${...}`. An unset variable without a default throws {@link InterpolationError} naming
 * worker, key and variable.
 */
export function interpolate(value: string, ctx: InterpolateContext): string {
  return interpolationParts(value)
    .map((part) => {
      if ('text' in part) return part.text;
      const v = ctx.env[part.variable];
      if (v !== undefined) {
        ctx.onSubstitute?.(part.variable, v, true);
        return v;
      }
      if (part.default === undefined) throw new InterpolationError(ctx.worker, ctx.key, part.variable);
      ctx.onSubstitute?.(part.variable, part.default, false);
      return part.default;
    })
    .join('');
}

/**
 * The config.yaml text that {@link interpolate} turns back into exactly `value`: every `$` doubled.
 * Values that come from an image are written this way, so an image never reads the environment of
 * whoever runs `iii`.
 */
export function escapeInterpolation(value: string): string {
  return value.replaceAll('$', () => '$$');
}
