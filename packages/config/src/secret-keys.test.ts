// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
import { describe, expect, it } from 'vitest';
import { isSecretKey, maskEnv, maskSecrets, scrubSecrets } from './secret-keys.js';

describe('isSecretKey', () => {
  it('masks names whose last word names a credential', () => {
    for (const key of [
      'API_KEY',
      'OPENAI_API_KEY',
      'AWS_SECRET_ACCESS_KEY',
      'PRIVATE_KEY',
      'SESSION_SECRET',
      'CLIENT_SECRET',
      'GITHUB_TOKEN',
      'TOKEN',
      'DB_PASSWORD',
      'DB_PASS',
      'SMTP_PASSWD',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'SENTRY_DSN',
      'db.password',
      'api-key',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
  });

  it('leaves ordinary names alone, KEY on its own included', () => {
    for (const key of [
      'KEY',
      'NEW_KEY',
      'SORT_KEY',
      'MONKEY',
      'PWD',
      'TOKEN_URL',
      'PASSWORD_FILE',
      'SECRET_NAME',
      'AUTHOR',
      'LOG_LEVEL',
      'DATABASE_URL',
      '',
    ]) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });
});

describe('maskSecrets', () => {
  it('masks values of keys that look secret and keeps empty values empty', () => {
    expect(maskSecrets({ API_KEY: 'k', NEW_KEY: 'n', LOG_LEVEL: 'x', EMPTY_TOKEN: '' })).toEqual({
      API_KEY: '****',
      NEW_KEY: 'n',
      LOG_LEVEL: 'x',
      EMPTY_TOKEN: '',
    });
  });
});

describe('maskEnv', () => {
  const env = { DB_URL: 'postgres://app:S3CR3T@db/x', PLAIN: 'S3CR3T', API_KEY: 'lit', MODE: 'on' };
  const written = { DB_URL: 'postgres://app:${S}@db/x', PLAIN: '${S}' };

  it('shows a value filled from ${VAR} as written, whatever its key', () => {
    expect(maskEnv(env, { written })).toEqual({
      DB_URL: 'postgres://app:${S}@db/x',
      PLAIN: '${S}',
      API_KEY: '****',
      MODE: 'on',
    });
  });

  it('shows everything as resolved when revealed', () => {
    expect(maskEnv(env, { written, reveal: true })).toEqual(env);
  });
});

describe('scrubSecrets', () => {
  it('replaces substituted values in free text, longest first, and leaves tiny ones', () => {
    expect(scrubSecrets('cannot reach postgres://app:S3CR3T@db/x (on)', ['S3CR3T', 'on'])).toBe(
      'cannot reach postgres://app:****@db/x (on)',
    );
    expect(scrubSecrets('k=abcdef', ['abc', 'abcdef'])).toBe('k=****');
  });
});
