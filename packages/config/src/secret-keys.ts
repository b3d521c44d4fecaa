// Names that usually hold credentials; matched on `_`-separated words so `MONKEY` is not a key.
const SECRET_WORDS = [
  'SECRET',
  'TOKEN',
  'PASSWORD',
  'PASSWD',
  'PWD',
  'KEY',
  'APIKEY',
  'CREDENTIAL',
  'CREDENTIALS',
  'AUTH',
  'PRIVATE',
  'CERT',
  'DSN',
];
const NOT_SECRET = new Set(['PWD']);

/** Whether an environment variable name looks like it holds a secret (`API_KEY`, `DB_PASSWORD`). */
export function isSecretKey(key: string): boolean {
  if (NOT_SECRET.has(key)) return false;
  const words = key.toUpperCase().split(/[^A-Z0-9]+/);
  return words.some((w) => SECRET_WORDS.includes(w));
}

/** A copy of `env` with the values of secret-looking keys replaced by `****` (empty stays empty). */
export function maskSecrets(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, isSecretKey(k) && v !== '' ? '****' : v]),
  );
}
