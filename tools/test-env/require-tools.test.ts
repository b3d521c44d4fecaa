import { describe, expect, it } from 'vitest';
import { MissingToolError, requireTools } from './require-tools.ts';

describe('requireTools', () => {
  it('returns true when every tool is installed', () => {
    expect(requireTools(['sh'], {})).toBe(true);
  });

  it('throws naming the missing tool and the install command', () => {
    expect(() => requireTools(['sh', 'iii-no-such-tool'], {})).toThrow(MissingToolError);
    expect(() => requireTools(['iii-no-such-tool'], {})).toThrow(
      /iii-no-such-tool.*bash tools\/test-env\/install\.sh/,
    );
  });

  it('names the Debian package of a known tool in the apt-get line', () => {
    try {
      requireTools(['iii-no-such-tool'], {});
    } catch (error) {
      expect((error as MissingToolError).hint).toContain('apt-get install -y iii-no-such-tool');
    }
    expect(new MissingToolError(['busybox']).hint).toContain('apt-get install -y busybox-static');
  });

  it('returns false instead of throwing only when III_TEST_ALLOW_SKIP=1', () => {
    expect(requireTools(['iii-no-such-tool'], { III_TEST_ALLOW_SKIP: '1' })).toBe(false);
    expect(() => requireTools(['iii-no-such-tool'], { III_TEST_ALLOW_SKIP: '0' })).toThrow(MissingToolError);
  });
});
