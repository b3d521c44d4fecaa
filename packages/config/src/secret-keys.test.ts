import { describe, expect, it } from 'vitest';
import { isSecretKey, maskSecrets } from './secret-keys.js';

describe('maskSecrets', () => {
  it('masks values of keys that look secret and leaves the rest', () => {
    expect(
      maskSecrets({
        API_KEY: 'k',
        DB_PASSWORD: 'p',
        GITHUB_TOKEN: 't',
        AWS_SECRET_ACCESS_KEY: 's',
        LOG_LEVEL: 'x',
        MONKEY: 'm',
        EMPTY_TOKEN: '',
      }),
    ).toEqual({
      API_KEY: '****',
      DB_PASSWORD: '****',
      GITHUB_TOKEN: '****',
      AWS_SECRET_ACCESS_KEY: '****',
      LOG_LEVEL: 'x',
      MONKEY: 'm',
      EMPTY_TOKEN: '',
    });
    expect(isSecretKey('PWD')).toBe(false);
  });
});
