import { describe, expect, it } from 'vitest';
import { cratePackageName, npmPackageName, validateWorkerName } from './worker-name.js';

describe('validateWorkerName', () => {
  it('accepts names config.yaml accepts', () => {
    for (const name of ['image-resize', 'a', 'W_1.2', 'x..'.slice(0, 2)]) {
      expect(() => validateWorkerName(name)).not.toThrow();
    }
  });

  it('rejects empty names, leading dots, "..", slashes and spaces with a hint', () => {
    for (const name of ['', '.hidden', 'a..b', 'a/b', 'a b', 'ü']) {
      expect(() => validateWorkerName(name)).toThrow(
        expect.objectContaining({ code: 'INVALID_WORKER_NAME' }),
      );
    }
  });
});

describe('package names derived from the worker name', () => {
  it('lower-cases names for npm and avoids a leading underscore', () => {
    expect(npmPackageName('Image-Resize')).toBe('image-resize');
    expect(npmPackageName('_x')).toBe('worker-x');
  });

  it('maps names to valid crate names', () => {
    expect(cratePackageName('Img.Resize')).toBe('img-resize');
    expect(cratePackageName('9lives')).toBe('worker-9lives');
  });
});
