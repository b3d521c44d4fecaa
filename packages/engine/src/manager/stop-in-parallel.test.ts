import { describe, expect, it } from 'vitest';
import { type StopProgress, stopInParallel } from './stop-in-parallel.js';

describe('stopInParallel', () => {
  it('asks every worker to stop before any has finished, and reports each with those still stopping', async () => {
    const asked: string[] = [];
    const release = new Map<string, () => void>();
    const progress: StopProgress[] = [];
    const done = stopInParallel(
      ['a', 'b', 'c'],
      (name) => {
        asked.push(name);
        return new Promise<void>((resolve) => release.set(name, resolve));
      },
      (p) => progress.push(p),
    );
    await new Promise((r) => setImmediate(r));
    expect(asked).toEqual(['a', 'b', 'c']);
    expect(progress).toEqual([]);
    release.get('b')!();
    await new Promise((r) => setImmediate(r));
    expect(progress).toEqual([{ name: 'b', remaining: ['a', 'c'] }]);
    release.get('c')!();
    release.get('a')!();
    await done;
    expect(progress.map((p) => [p.name, p.remaining])).toEqual([
      ['b', ['a', 'c']],
      ['c', ['a']],
      ['a', []],
    ]);
  });

  it('reports a failure without holding up the others', async () => {
    const progress: StopProgress[] = [];
    await stopInParallel(
      ['bad', 'good'],
      async (name) => {
        if (name === 'bad') throw new Error('runc failed');
      },
      (p) => progress.push(p),
    );
    expect(progress).toContainEqual({ name: 'good', remaining: expect.any(Array) });
    expect(progress.find((p) => p.name === 'bad')?.error?.message).toBe('runc failed');
  });
});
