/**
 * The key-name rule, the second net behind masking by origin (see {@link maskEnv}). A name is split
 * into words at every character that is not a letter or digit (`DB_PASSWORD` → DB, PASSWORD) and
 * looks secret when
 * - its last word is one of {@link SECRET_LAST_WORDS} (`*_SECRET`, `*_TOKEN`, `*_PASSWORD`, ...), or
 * - it ends in `_KEY` right after one of {@link KEY_QUALIFIERS} (`API_KEY`, `AWS_SECRET_ACCESS_KEY`).
 * `KEY` alone, `NEW_KEY`, `TOKEN_URL` or `PASSWORD_FILE` are ordinary names: they name a key or a
 * path, not a credential.
 */
export const SECRET_LAST_WORDS: readonly string[] = [
  'SECRET',
  'SECRETS',
  'TOKEN',
  'PASSWORD',
  'PASSWD',
  'PASS',
  'PASSPHRASE',
  'CREDENTIAL',
  'CREDENTIALS',
  'APIKEY',
  'DSN',
];

/** Words that make a following `KEY` a credential. */
export const KEY_QUALIFIERS: readonly string[] = [
  'API',
  'ACCESS',
  'PRIVATE',
  'SECRET',
  'SIGNING',
  'ENCRYPTION',
  'MASTER',
  'LICENSE',
];

const MASK = '****';

/** Whether an environment variable name looks like it holds a secret (`API_KEY`, `DB_PASSWORD`). */
export function isSecretKey(key: string): boolean {
  const words = key
    .toUpperCase()
    .split(/[^A-Z0-9]+/)
    .filter((w) => w !== '');
  const last = words.at(-1);
  if (last === undefined) return false;
  if (SECRET_LAST_WORDS.includes(last)) return true;
  const before = words.at(-2);
  return last === 'KEY' && before !== undefined && KEY_QUALIFIERS.includes(before);
}

/** A copy of `env` with the values of secret-looking keys replaced by `****` (empty stays empty). */
export function maskSecrets(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, isSecretKey(k) && v !== '' ? MASK : v]));
}

/** Options of {@link maskEnv}: the values as written, and whether to reveal them all. */
export interface MaskEnvOptions {
  /** Values as written for the keys that were filled from `${VAR}` (see `flattenConfigWithOrigins`). */
  written?: Record<string, string>;
  /** Show every value as resolved (the owner asked, with `--reveal`). */
  reveal?: boolean;
}

/**
 * The environment as it may be shown: a value filled from `${VAR}` as written (`postgres://app:${S}@db/x`),
 * else the value of a secret-looking key as `****`, else the value. With `reveal`, everything as is.
 */
export function maskEnv(env: Record<string, string>, options: MaskEnvOptions = {}): Record<string, string> {
  if (options.reveal) return { ...env };
  const written = options.written ?? {};
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      if (Object.hasOwn(written, k)) return [k, written[k]!];
      return [k, isSecretKey(k) && v !== '' ? MASK : v];
    }),
  );
}

/**
 * `text` with every occurrence of a substituted value replaced by `****`, for messages (errors, the
 * engine's log) that might quote part of an environment. Values under 4 characters are left alone:
 * scrubbing every `1` or `on` would garble the message and protect nothing.
 */
export function scrubSecrets(text: string, substituted: readonly string[]): string {
  let out = text;
  for (const value of [...substituted].sort((a, b) => b.length - a.length)) {
    if (value.length < 4) continue;
    out = out.split(value).join(MASK);
  }
  return out;
}
