import { escapeInterpolation, ImageEnvLimitError } from '@iii/config';

/** Variables every image sets for the OS, not for the worker: never copied into `config:`. */
export const SYSTEM_ENV_KEYS: readonly string[] = [
  'PATH',
  'HOME',
  'HOSTNAME',
  'LANG',
  'TERM',
  'USER',
  'SHELL',
  'PWD',
  'SHLVL',
];

/**
 * Most ENV entries `add` copies from one image into `config:`. Real images declare tens; an image
 * with thousands is built to bloat config.yaml (and could not start anyway: the kernel caps the size
 * of a process's environment).
 */
export const MAX_IMAGE_ENV_ENTRIES = 1000;

/**
 * An image's `Env` (`K=V` lines) as `config:` defaults: system variables dropped, keys sorted. The
 * values are the image's own, unescaped; {@link upsertWorkerImage} and {@link mergeWorkerConfig}
 * escape them when they write config.yaml. More than {@link MAX_IMAGE_ENV_ENTRIES} entries is an
 * {@link ImageEnvLimitError} naming `image`.
 */
export function imageEnvDefaults(
  env: readonly string[] | null | undefined,
  image = 'the image',
): Record<string, string> {
  const pairs: [string, string][] = [];
  for (const line of env ?? []) {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === '' || SYSTEM_ENV_KEYS.includes(key)) continue;
    pairs.push([key, eq < 0 ? '' : line.slice(eq + 1)]);
  }
  if (pairs.length > MAX_IMAGE_ENV_ENTRIES) {
    throw new ImageEnvLimitError(image, pairs.length, MAX_IMAGE_ENV_ENTRIES);
  }
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(pairs);
}

/**
 * Whether a `config:` value (config.yaml text, before interpolation) is the image's own default
 * `imageValue` as `add` wrote it: escaped, or unescaped as versions before the escaping wrote it.
 * Comparing after interpolation needs no helper: the escaped form interpolates to `imageValue`.
 */
export function isImageDefault(value: unknown, imageValue: string): boolean {
  return value === escapeInterpolation(imageValue) || value === imageValue;
}

/** Inputs of {@link mergeWorkerConfig}. */
export interface MergeConfigInput {
  /** `config:` as it is in config.yaml now (possibly edited by the user): config.yaml text. */
  current: Record<string, unknown> | null | undefined;
  /** Defaults of the image the entry was added from, when known: the image's own values. */
  previousDefaults?: Record<string, string> | undefined;
  /** Defaults of the new image: the image's own values. */
  nextDefaults: Record<string, string>;
}

/**
 * `config:` after moving a worker to a new image: values the user edited win; values still equal
 * to the old image's default follow the new default; new defaults are added; keys the user deleted
 * stay deleted. Without the old defaults every current value counts as the user's.
 *
 * Defaults are image values and `current` is config.yaml text, so a default is compared and written
 * in its escaped form (`$` as `$$`). A value equal to the old default as it stands in the image
 * (what versions before escaping wrote) also counts as untouched: the user never wrote it, and
 * following the new default escapes it.
 */
export function mergeWorkerConfig(input: MergeConfigInput): Record<string, unknown> {
  const current = input.current ?? {};
  const prev = input.previousDefaults;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) {
    const old = prev !== undefined && Object.hasOwn(prev, key) ? prev[key] : undefined;
    const untouched = old !== undefined && isImageDefault(value, old);
    out[key] =
      untouched && Object.hasOwn(input.nextDefaults, key)
        ? escapeInterpolation(input.nextDefaults[key]!)
        : value;
  }
  for (const [key, value] of Object.entries(input.nextDefaults)) {
    if (Object.hasOwn(out, key)) continue;
    const deletedByUser = prev !== undefined && Object.hasOwn(prev, key);
    if (!deletedByUser) out[key] = escapeInterpolation(value);
  }
  return out;
}

/** An image's defaults as config.yaml text: every value escaped, so it reaches the worker as written. */
export function escapedDefaults(defaults: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, escapeInterpolation(v)]));
}
