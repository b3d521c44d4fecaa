import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInit } from './init.js';

describe('findInit', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iii-find-init-'));
    await writeFile(join(dir, 'real-tini'), '#!/bin/sh\n');
    await chmod(join(dir, 'real-tini'), 0o755);
    await symlink(join(dir, 'real-tini'), join(dir, 'tini-static'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds tini-static on PATH, as the file itself', async () => {
    expect(await findInit({ PATH: dir })).toEqual({ path: join(dir, 'real-tini') });
  });

  it('says why there is none, and what to install', async () => {
    const none = await findInit({ PATH: join(dir, 'missing') });
    expect(none).toEqual({
      reason: 'tini-static is not on PATH',
      hint: expect.stringContaining('apt-get install tini'),
    });
    expect(await findInit({ PATH: dir }, join(dir, 'nope'))).toMatchObject({
      reason: `${join(dir, 'nope')} is not an executable file`,
    });
    expect(await findInit({ PATH: dir }, false)).toMatchObject({
      reason: 'no init is configured for this sandbox',
    });
  });
});
