// biome-ignore-all lint/suspicious/noTemplateCurlyInString: image values with literal ${VAR} placeholders.

import { ImageEnvLimitError } from '@iii/config';
import { describe, expect, it } from 'vitest';
import {
  imageEnvDefaults,
  isImageDefault,
  MAX_IMAGE_ENV_ENTRIES,
  mergeWorkerConfig,
} from './worker-defaults.js';

describe('imageEnvDefaults', () => {
  it('drops system variables and sorts keys', () => {
    expect(
      imageEnvDefaults([
        'PATH=/bin',
        'ZED=1',
        'HOME=/root',
        'ALPHA=a=b',
        'TERM=xterm',
        'EMPTY=',
        'SHLVL=1',
        'NOEQ',
      ]),
    ).toEqual({ ALPHA: 'a=b', EMPTY: '', NOEQ: '', ZED: '1' });
    expect(Object.keys(imageEnvDefaults(['B=1', 'A=2', 'C=3']))).toEqual(['A', 'B', 'C']);
    expect(imageEnvDefaults(undefined)).toEqual({});
  });

  it('keeps the image values as they are (escaping is for config.yaml)', () => {
    expect(imageEnvDefaults(['X=${HOME}x$y'])).toEqual({ X: '${HOME}x$y' });
  });

  it('refuses more ENV entries than the limit, naming the image and both numbers', () => {
    const env = Array.from({ length: MAX_IMAGE_ENV_ENTRIES + 1 }, (_, i) => `K${i}=v`);
    expect(Object.keys(imageEnvDefaults(env.slice(1)))).toHaveLength(MAX_IMAGE_ENV_ENTRIES);
    try {
      imageEnvDefaults(env, 'reg/many:1');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ImageEnvLimitError);
      expect((err as Error).message).toBe(
        `reg/many:1 declares ${MAX_IMAGE_ENV_ENTRIES + 1} environment variables, over the limit of ${MAX_IMAGE_ENV_ENTRIES}`,
      );
    }
  });
});

describe('isImageDefault', () => {
  it('matches the escaped form add writes, and the unescaped form earlier versions wrote', () => {
    expect(isImageDefault('ws://localhost:49134', 'ws://localhost:49134')).toBe(true);
    expect(isImageDefault('ws://$${HOST}:1', 'ws://${HOST}:1')).toBe(true);
    expect(isImageDefault('ws://${HOST}:1', 'ws://${HOST}:1')).toBe(true);
    expect(isImageDefault('ws://other:1', 'ws://${HOST}:1')).toBe(false);
    expect(isImageDefault(49134, '49134')).toBe(false);
  });
});

describe('mergeWorkerConfig', () => {
  it('keeps edited values, follows untouched defaults, adds new keys, respects deletions', () => {
    expect(
      mergeWorkerConfig({
        current: { EDITED: 'mine', UNTOUCHED: 'old', USER_ONLY: 'u' },
        previousDefaults: { EDITED: 'old', UNTOUCHED: 'old', DELETED: 'd' },
        nextDefaults: { EDITED: 'new', UNTOUCHED: 'new', DELETED: 'd2', ADDED: 'a' },
      }),
    ).toEqual({ EDITED: 'mine', UNTOUCHED: 'new', USER_ONLY: 'u', ADDED: 'a' });
  });

  it('compares and writes defaults in their escaped config.yaml form', () => {
    expect(
      mergeWorkerConfig({
        // As `add` wrote them: escaped. EDITED asks for a host variable on purpose.
        current: { UNTOUCHED: '$${HOME}', EDITED: '${HOME}' },
        previousDefaults: { UNTOUCHED: '${HOME}', EDITED: '${TOKEN}' },
        nextDefaults: { UNTOUCHED: '${USER}$', EDITED: '${OTHER}', ADDED: 'a$b' },
      }),
    ).toEqual({ UNTOUCHED: '$${USER}$$', EDITED: '${HOME}', ADDED: 'a$$b' });
  });

  it('escapes an old default written unescaped by an earlier version', () => {
    expect(
      mergeWorkerConfig({
        current: { X: '${SECRET}' },
        previousDefaults: { X: '${SECRET}' },
        nextDefaults: { X: '${SECRET}' },
      }),
    ).toEqual({ X: '$${SECRET}' });
  });

  it('treats every current value as the user’s when the old defaults are unknown', () => {
    expect(mergeWorkerConfig({ current: { A: '1' }, nextDefaults: { A: '2', B: '3' } })).toEqual({
      A: '1',
      B: '3',
    });
  });
});
