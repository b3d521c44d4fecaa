import { describe, expect, it } from 'vitest';
import { formatBytes, parseCpus, parseMemory } from './resources.js';

describe('parseMemory', () => {
  it('reads binary and decimal units', () => {
    expect(parseMemory('256Mi')).toBe(256 * 1024 * 1024);
    expect(parseMemory('1Gi')).toBe(1024 ** 3);
    expect(parseMemory('512Ki')).toBe(512 * 1024);
    expect(parseMemory('1G')).toBe(1e9);
    expect(parseMemory('1.5M')).toBe(1_500_000);
    expect(parseMemory('2K')).toBe(2000);
  });

  it('reads plain bytes as number or text', () => {
    expect(parseMemory(1048576)).toBe(1048576);
    expect(parseMemory('1048576')).toBe(1048576);
    expect(parseMemory('100B')).toBe(100);
  });

  it('rejects nonsense, zero and negatives', () => {
    for (const bad of ['', 'lots', '-1', '0', '1Xi', '1 gigabyte', 0, -5, 1.5]) {
      expect(() => parseMemory(bad as string | number), String(bad)).toThrow(/invalid memory/);
    }
  });
});

describe('parseCpus', () => {
  it('reads fractions, whole numbers and millicores', () => {
    expect(parseCpus(0.5)).toBe(0.5);
    expect(parseCpus('2')).toBe(2);
    expect(parseCpus('500m')).toBe(0.5);
  });

  it('rejects zero, negatives and text', () => {
    for (const bad of [0, -1, 'many', '', '1.2.3']) expect(() => parseCpus(bad)).toThrow(/invalid cpus/);
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(12)).toBe('12 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
  });
});
