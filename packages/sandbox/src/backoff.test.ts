import { describe, expect, it } from 'vitest';
import { restartDelay, shouldRestart } from './backoff.js';

describe('restartDelay', () => {
  it('starts at 1 s and doubles up to 60 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((a) => restartDelay(a))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });

  it('honours a custom base and cap', () => {
    expect([0, 1, 2, 3].map((a) => restartDelay(a, { initialMs: 50, maxMs: 150 }))).toEqual([
      50, 100, 150, 150,
    ]);
  });
});

describe('shouldRestart', () => {
  it('restarts on failure only by default policy on-failure', () => {
    expect(shouldRestart('on-failure', 1)).toBe(true);
    expect(shouldRestart('on-failure', 0)).toBe(false);
  });

  it('always restarts with always and never with never', () => {
    expect(shouldRestart('always', 0)).toBe(true);
    expect(shouldRestart('never', 1)).toBe(false);
  });
});
