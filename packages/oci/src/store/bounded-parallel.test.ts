import { describe, expect, it } from 'vitest';
import { boundedParallel } from './bounded-parallel.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('boundedParallel', () => {
  it('keeps at most `limit` running and returns results in input order', async () => {
    let running = 0;
    let most = 0;
    const out = await boundedParallel([5, 1, 4, 2, 3], 2, async (n) => {
      running += 1;
      most = Math.max(most, running);
      for (let i = 0; i < n; i++) await tick();
      running -= 1;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('on the first failure aborts the running ones, starts no queued one, and rethrows after all settled', async () => {
    const started: number[] = [];
    let settled = 0;
    const failure = new Error('boom');
    const run = boundedParallel([0, 1, 2, 3, 4], 2, async (n, _i, signal) => {
      started.push(n);
      try {
        if (n === 0) throw failure;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      } finally {
        settled += 1;
      }
    });
    await expect(run).rejects.toBe(failure);
    expect(started).toEqual([0, 1]);
    expect(settled).toBe(2);
  });
});
