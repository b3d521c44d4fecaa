import { describe, expect, it } from 'vitest';
import { imageEnvDefaults, mergeWorkerConfig, parseWorkerManifest } from './worker-defaults.js';

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
});

describe('parseWorkerManifest', () => {
  it('reads resources', () => {
    expect(parseWorkerManifest('resources:\n  cpus: 0.5\n  memory: 256Mi\n', 'x')).toEqual({
      resources: { cpus: 0.5, memory: '256Mi' },
    });
    expect(parseWorkerManifest('name: w\n', 'x')).toEqual({});
  });

  it('rejects invalid resources naming the file', () => {
    expect(() => parseWorkerManifest('resources:\n  memory: lots\n', '/iii/worker.yaml')).toThrow(
      /\/iii\/worker\.yaml: resources\.memory/,
    );
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

  it('treats every current value as the user’s when the old defaults are unknown', () => {
    expect(mergeWorkerConfig({ current: { A: '1' }, nextDefaults: { A: '2', B: '3' } })).toEqual({
      A: '1',
      B: '3',
    });
  });
});
