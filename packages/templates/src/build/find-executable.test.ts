import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findExecutable } from './find-executable.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-find-exe-'));
  for (const sub of ['a', 'b']) await mkdir(join(dir, sub));
  await writeFile(join(dir, 'a', 'docker'), 'not executable');
  await writeFile(join(dir, 'b', 'docker'), '#!/bin/sh\n');
  await chmod(join(dir, 'b', 'docker'), 0o755);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('findExecutable', () => {
  it('is the first executable on PATH, like `command -v`', async () => {
    expect(await findExecutable('docker', `${join(dir, 'a')}::${join(dir, 'b')}`)).toBe(
      join(dir, 'b', 'docker'),
    );
    expect(await findExecutable('podman', join(dir, 'b'))).toBeUndefined();
  });

  it('finds nothing without a PATH', async () => {
    expect(await findExecutable('docker', undefined)).toBeUndefined();
    expect(await findExecutable('docker', '')).toBeUndefined();
  });
});
