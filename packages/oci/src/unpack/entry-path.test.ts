import { describe, expect, it } from 'vitest';
import { entryPathComponents } from './entry-path.js';

describe('entryPathComponents', () => {
  it.each([
    ['usr/bin/env', ['usr', 'bin', 'env']],
    ['./usr/bin/', ['usr', 'bin']],
    ['a//b/./c', ['a', 'b', 'c']],
    ['./', []],
    ['.', []],
    ['dir with spaces/..hidden', ['dir with spaces', '..hidden']],
  ])('splits %s into safe components', (name, expected) => {
    expect(entryPathComponents(name)).toEqual(expected);
  });

  it.each([['/etc/passwd'], ['//etc']])('refuses the absolute path %s', (name) => {
    expect(() => entryPathComponents(name, 'sha256:abc')).toThrow(
      expect.objectContaining({ code: 'UNPACK_UNSAFE_ENTRY', reason: 'absolute-path', layer: 'sha256:abc' }),
    );
  });

  it.each([['..'], ['../x'], ['a/../b'], ['a/..']])('refuses %s, which has a .. component', (name) => {
    expect(() => entryPathComponents(name)).toThrow(expect.objectContaining({ reason: 'parent-traversal' }));
  });
});
