// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} placeholders.
import { describe, expect, it } from 'vitest';
import { flattenConfig, flattenConfigWithOrigins } from './flatten.js';

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

describe('flattenConfigWithOrigins', () => {
  it('tells which keys were interpolated, as written, and what filled them', () => {
    const flat = flattenConfigWithOrigins(
      {
        DB_URL: 'postgres://app:${S}@db/x',
        PLAIN: 'S3CR3T',
        ESCAPED: '$${S}',
        LEVEL: '${LEVEL:info}',
        nested: { hosts: ['${H}', 'b'] },
        N: 3,
      },
      { env: { S: 'S3CR3T', H: 'h1' }, worker: 'w' },
    );
    expect(flat.values).toEqual({
      DB_URL: 'postgres://app:S3CR3T@db/x',
      PLAIN: 'S3CR3T',
      ESCAPED: '${S}',
      LEVEL: 'info',
      NESTED_HOSTS: '["h1","b"]',
      N: '3',
    });
    expect(flat.written).toEqual({
      DB_URL: 'postgres://app:${S}@db/x',
      LEVEL: '${LEVEL:info}',
      NESTED_HOSTS: '["${H}","b"]',
    });
    // A default is written in config.yaml, not taken from the environment.
    expect(flat.substituted.sort()).toEqual(['S3CR3T', 'h1']);
  });

  it('reports nothing as interpolated without an environment', () => {
    expect(flattenConfigWithOrigins({ A: '${S}' }).written).toEqual({});
  });
});
