import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseNofile, readHostLimits } from './host-limits.js';
import { readFileInRoot } from './root-file.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'iii-root-'));
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'data'));
  await writeFile(join(root, 'data/passwd'), 'app:x:1:1::/:/bin/sh\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readFileInRoot', () => {
  it('follows an absolute symlink inside the rootfs, not on the host', async () => {
    await symlink('/data/passwd', join(root, 'etc/passwd'));
    expect(await readFileInRoot(root, '/etc/passwd')).toBe('app:x:1:1::/:/bin/sh\n');
  });

  it('keeps ../ escapes inside the rootfs', async () => {
    await symlink('../../../../../../data/passwd', join(root, 'etc/passwd'));
    expect(await readFileInRoot(root, '/etc/passwd')).toBe('app:x:1:1::/:/bin/sh\n');
    await symlink('/etc/hostname-does-not-exist-in-root', join(root, 'etc/group'));
    expect(await readFileInRoot(root, '/etc/group')).toBeUndefined();
  });

  it('gives up on symlink loops', async () => {
    await symlink('/etc/b', join(root, 'etc/a'));
    await symlink('/etc/a', join(root, 'etc/b'));
    expect(await readFileInRoot(root, '/etc/a')).toBeUndefined();
  });
});

describe('readHostLimits', () => {
  it('parses the open files limit, with unlimited as Infinity', async () => {
    const text =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 unlimited            files\n';
    expect(parseNofile(text)).toEqual({ soft: 1024, hard: Number.POSITIVE_INFINITY });
    expect((await readHostLimits()).nofile?.hard).toBeGreaterThan(0);
  });
});
