import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultEngineAddress, defaultHeaders, defaultWorkerName } from './worker-defaults.js';

describe('worker defaults', () => {
  it('takes the address from III_URL, then III_ENGINE_URL, then localhost:49134', () => {
    expect(defaultEngineAddress({ III_URL: 'ws://a:1', III_ENGINE_URL: 'ws://b:2' })).toBe('ws://a:1');
    expect(defaultEngineAddress({ III_ENGINE_URL: 'ws://b:2' })).toBe('ws://b:2');
    expect(defaultEngineAddress({})).toBe('ws://localhost:49134');
  });

  it('takes the name from III_WORKER_NAME, then hostname:pid', () => {
    expect(defaultWorkerName({ III_WORKER_NAME: 'resize' }, 7)).toBe('resize');
    expect(defaultWorkerName({}, 7)).toBe(`${hostname()}:7`);
  });

  it('presents $III_TOKEN as a bearer token unless the caller set Authorization', () => {
    expect(defaultHeaders(undefined, {})).toBeUndefined();
    expect(defaultHeaders({ X: '1' }, { III_TOKEN: 't' })).toEqual({ Authorization: 'Bearer t', X: '1' });
    expect(defaultHeaders({ Authorization: 'Bearer mine' }, { III_TOKEN: 't' })).toEqual({
      Authorization: 'Bearer mine',
    });
  });
});
