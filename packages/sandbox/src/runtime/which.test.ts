import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { which } from './detect.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-which-'));
  for (const sub of ['a', 'b']) await mkdir(join(dir, sub));
  await writeFile(join(dir, 'a', 'tool'), 'not executable');
  await writeFile(join(dir, 'b', 'tool'), '#!/bin/sh\n');
  await chmod(join(dir, 'b', 'tool'), 0o755);
  await mkdir(join(dir, 'a', 'dirtool'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('which', () => {
  it('finds the first executable on PATH, skipping files that are not executable and directories', async () => {
    const PATH = `${join(dir, 'a')}::${join(dir, 'b')}`;
    expect(await which('tool', { PATH })).toBe(join(dir, 'b', 'tool'));
    expect(await which('dirtool', { PATH })).toBeUndefined();
    expect(await which('missing', { PATH })).toBeUndefined();
  });

  it('checks a path as it is, and finds nothing on an empty PATH', async () => {
    expect(await which(join(dir, 'b', 'tool'), { PATH: '' })).toBe(join(dir, 'b', 'tool'));
    expect(await which(join(dir, 'a', 'tool'), { PATH: '' })).toBeUndefined();
    expect(await which('tool', { PATH: '' })).toBeUndefined();
  });
});
