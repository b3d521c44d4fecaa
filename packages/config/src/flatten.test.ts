// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
import { describe, expect, it } from 'vitest';
import { flattenConfig } from './flatten.js';

describe('flattenConfig', () => {
  it('joins nested keys with _ and upper-cases them', () => {
    expect(flattenConfig({ db: { host: 'x', pool: { max: 5 } }, LOG_LEVEL: 'debug' })).toEqual({
      DB_HOST: 'x',
      DB_POOL_MAX: '5',
      LOG_LEVEL: 'debug',
    });
  });

  it('writes numbers and booleans as text and null as empty', () => {
    expect(flattenConfig({ n: 1.5, t: true, f: false, z: null })).toEqual({
      N: '1.5',
      T: 'true',
      F: 'false',
      Z: '',
    });
  });

  it('writes arrays, including objects inside them, as JSON', () => {
    expect(flattenConfig({ hosts: ['a', 'b'], rules: [{ path: '/x', n: 1 }] })).toEqual({
      HOSTS: '["a","b"]',
      RULES: '[{"path":"/x","n":1}]',
    });
  });

  it('interpolates strings before flattening when given an environment', () => {
    const env = { TOKEN: 'abc"def' };
    expect(
      flattenConfig({ api: { key: '${TOKEN}' }, list: ['${TOKEN}'], lit: '$${TOKEN}' }, { env, worker: 'w' }),
    ).toEqual({
      API_KEY: 'abc"def',
      LIST: '["abc\\"def"]',
      LIT: '${TOKEN}',
    });
  });

  it('names the flattened key in an interpolation error', () => {
    expect(() => flattenConfig({ db: { password: '${DB_PW}' } }, { env: {}, worker: 'api' })).toThrow(
      'worker "api": config key DB_PASSWORD uses ${DB_PW}, which is not set',
    );
  });

  it('gives nothing for an empty or missing config', () => {
    expect(flattenConfig(undefined)).toEqual({});
    expect(flattenConfig(null)).toEqual({});
    expect(flattenConfig({})).toEqual({});
  });
});
