import { describe, expect, it } from 'vitest';
import { NameCollisionError, UnmappableNameError } from './errors.js';
import { objectName, objectNames } from './names.js';

describe('objectName', () => {
  it('maps worker names to DNS-1123 labels', () => {
    expect(objectName('image-resize')).toBe('image-resize');
    expect(objectName('Nightly.Batch_Job')).toBe('nightly-batch-job');
  });

  it('fails clearly for names no label can stand for', () => {
    expect(() => objectName('-lead')).toThrow(UnmappableNameError);
    expect(() => objectName('trail_')).toThrow(/"trail-" must start and end with a letter or digit/);
    expect(() => objectName('x'.repeat(64))).toThrow(/longer than 63/);
    expect(() => objectName('iii-engine')).toThrow(/names the engine/);
  });

  it('refuses two workers that map to one name', () => {
    expect(() => objectNames(['a_b', 'a.b'])).toThrow(NameCollisionError);
    expect(objectNames(['a', 'B'])).toEqual(
      new Map([
        ['a', 'a'],
        ['B', 'b'],
      ]),
    );
  });
});
