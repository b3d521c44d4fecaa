import { describe, expect, it } from 'vitest';
import { parseDuration, parseSince } from './duration.js';

describe('parseDuration', () => {
  it('reads milliseconds, seconds, minutes, hours and combinations', () => {
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('0.5s')).toBe(500);
  });

  it('reads a bare number as seconds', () => {
    expect(parseDuration('10')).toBe(10_000);
  });

  it('refuses text that is not a duration, with a hint', () => {
    for (const bad of ['', 'soon', '10x', '5m later', '-1s']) {
      expect(() => parseDuration(bad)).toThrow(expect.objectContaining({ code: 'INVALID_DURATION' }));
    }
  });
});

describe('parseSince', () => {
  it('counts a duration back from now', () => {
    expect(parseSince('10m', () => 1_000_000).getTime()).toBe(400_000);
  });

  it('reads RFC 3339 times', () => {
    expect(parseSince('2026-01-02T15:04:05Z').toISOString()).toBe('2026-01-02T15:04:05.000Z');
    expect(parseSince('2026-01-02T16:04:05+01:00').toISOString()).toBe('2026-01-02T15:04:05.000Z');
  });

  it('refuses a malformed time', () => {
    expect(() => parseSince('2026-13-45Tnope')).toThrow(expect.objectContaining({ code: 'INVALID_TIME' }));
  });

  it('names both accepted forms when neither matches', () => {
    expect(() => parseSince('yesterday')).toThrow(
      expect.objectContaining({ code: 'INVALID_DURATION', hint: expect.stringContaining('RFC 3339') }),
    );
  });
});
