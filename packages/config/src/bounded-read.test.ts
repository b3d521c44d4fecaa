import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBoundedText } from './bounded-read.js';
import { FileTooLargeError } from './errors.js';

describe('readBoundedText', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iii-bounded-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file up to the limit and gives undefined for a missing one', async () => {
    await writeFile(join(dir, 'f'), 'héllo');
    expect(await readBoundedText(join(dir, 'f'), { limit: 6, hint: 'h' })).toBe('héllo');
    expect(await readBoundedText(join(dir, 'missing'), { limit: 6, hint: 'h' })).toBeUndefined();
  });

  it('refuses a bigger file with file, size, limit and hint', async () => {
    await writeFile(join(dir, 'f'), 'x'.repeat(3000));
    const err = await readBoundedText(join(dir, 'f'), { limit: 2048, hint: 'make it smaller' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ file: join(dir, 'f'), size: 3000, limit: 2048, hint: 'make it smaller' });
    expect((err as Error).message).toBe(
      `${join(dir, 'f')} is 2.9 KiB (3000 bytes), over the limit of 2 KiB (2048 bytes)`,
    );
  });

  it('refuses an endless file that stat cannot size, after reading one byte over the limit', async () => {
    const err = await readBoundedText('/dev/zero', { limit: 100_000, hint: 'h' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect((err as FileTooLargeError).size).toBe(100_001);
  });
});
