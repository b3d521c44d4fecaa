import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IiiError, isProcessAlive, workerNameProblem, writeFileAtomic } from './index.js';

describe('workerNameProblem', () => {
  it('accepts names that can name a directory and a container', () => {
    for (const name of ['a', 'image-resize', 'w_1.2', '-x', '_y', 'a'.repeat(128)]) {
      expect(workerNameProblem(name), name).toBeUndefined();
    }
  });
  it('says why a name cannot name a worker', () => {
    expect(workerNameProblem('')).toBe('it is empty');
    expect(workerNameProblem('a'.repeat(129))).toBe('it is longer than 128 characters');
    expect(workerNameProblem('a/b')).toBe('only letters, digits, ".", "_" and "-" are allowed');
    expect(workerNameProblem('.hidden')).toBe('it must not start with "."');
    expect(workerNameProblem('a..b')).toBe('it must not contain ".."');
  });
});

describe('isProcessAlive', () => {
  it('is true for this process and false for a pid that does not exist', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(2 ** 22 + 12345)).toBe(false);
  });
});

describe('IiiError', () => {
  it('carries code, hint, cause and the name of the class thrown', () => {
    class SomeError extends IiiError {}
    const cause = new Error('below');
    const err = new SomeError('SOME_CODE', 'what went wrong', 'what to do', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'SomeError', code: 'SOME_CODE', hint: 'what to do', cause });
  });
});

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iii-base-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('replaces a file, keeps its mode, and leaves no temp file', async () => {
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'old', { mode: 0o640 });
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['config.yaml']);
  });

  it('gives a file the mode asked for, whatever it had', async () => {
    const file = join(dir, 'engine.json');
    await writeFile(file, 'old', { mode: 0o644 });
    await writeFileAtomic(file, 'secret', { mode: 0o600 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(join(dir, 'new.json'), '{}');
    expect((await stat(join(dir, 'new.json'))).mode & 0o777).toBe(0o644 & ~process.umask());
  });
});
