import { describe, expect, it } from 'vitest';
import { closest } from './closest.js';

describe('closest', () => {
  it('suggests the nearest command or topic, a swap of neighbouring letters included', () => {
    expect(closest('wroker', ['worker', 'start', 'trigger', 'init'])).toBe('worker');
    expect(closest('strat', ['worker', 'start', 'trigger'])).toBe('start');
    expect(closest('sl', ['ls', 'init'])).toBe('ls');
  });

  it('suggests nothing when no candidate is near', () => {
    expect(closest('deploy', ['worker', 'start', 'init'])).toBeUndefined();
  });
});
