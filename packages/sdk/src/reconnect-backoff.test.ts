import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONNECTION_CONFIG, reconnectDelayMs } from './reconnect-backoff.js';

describe('reconnectDelayMs', () => {
  it('starts at 1 s and doubles up to 30 s without jitter at the midpoint', () => {
    const mid = () => 0.5;
    const delays = [0, 1, 2, 3, 4, 5, 6, 10].map((a) =>
      reconnectDelayMs(a, DEFAULT_RECONNECTION_CONFIG, mid),
    );
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('spreads each delay by at most ±30%', () => {
    expect(reconnectDelayMs(0, DEFAULT_RECONNECTION_CONFIG, () => 0)).toBe(700);
    expect(reconnectDelayMs(0, DEFAULT_RECONNECTION_CONFIG, () => 1)).toBe(1300);
    expect(reconnectDelayMs(9, DEFAULT_RECONNECTION_CONFIG, () => 1)).toBe(39000);
  });
});
