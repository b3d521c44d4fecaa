import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './closest.js';

describe('closest', () => {
  it('counts a swap of neighbouring letters as one edit', () => {
    expect(editDistance('wroker', 'worker')).toBe(1);
  });

  it('suggests the nearest command or topic', () => {
    expect(closest('wroker', ['worker', 'start', 'trigger', 'init'])).toBe('worker');
    expect(closest('strat', ['worker', 'start', 'trigger'])).toBe('start');
  });

  it('suggests nothing when no candidate is near', () => {
    expect(closest('deploy', ['worker', 'start', 'init'])).toBeUndefined();
  });
});
