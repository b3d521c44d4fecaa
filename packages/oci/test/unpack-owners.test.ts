// Rootless unpacks cannot chown: they record the owners the tar headers name and hand them to the
// caller (which applies them in a user namespace). These tests check what is handed over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OwnerRecord, unpack } from '../src/unpack/index.js';
import { tarLayer } from './unpack-fixtures/tar-layer.js';

let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-unpack-owners-'));
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** Unpacks rootless and returns what `applyOwners` was given, by path, and the root it was given. */
async function owners(layers: Parameters<typeof unpack>[0]) {
  let seen: readonly OwnerRecord[] | undefined;
  let root: string | undefined;
  const target = path.join(base, 'rootfs');
  await unpack(layers, target, {
    rootless: true,
    applyOwners: async (r, o) => {
      root = r;
      seen = o;
      // Applied before the rootfs is moved into place: the files are all there already.
      expect(fs.readFileSync(path.join(r, 'home/app/file'), 'utf8')).toBe('x');
    },
  });
  expect(root).not.toBe(target);
  expect(fs.existsSync(path.join(target, 'home/app/file'))).toBe(true);
  return Object.fromEntries((seen ?? []).map(([p, u, g]) => [p, [u, g]]));
}

describe('rootless unpack records the image owners', () => {
  it('hands over every path not owned by 0:0, with its uid and gid', async () => {
    const got = await owners([
      await tarLayer([
        { name: 'home/', type: 'directory' },
        { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
        { name: 'home/app/file', content: 'x', uid: 1000, gid: 1000 },
        { name: 'home/app/link', type: 'symlink', linkname: 'file', uid: 1000, gid: 50 },
        { name: 'home/app/hard', type: 'link', linkname: 'home/app/file', uid: 7, gid: 7 },
        { name: 'etc/shadow', content: 's', gid: 42 },
      ]),
    ]);
    expect(got).toEqual({
      'home/app': [1000, 1000],
      'home/app/file': [1000, 1000],
      'home/app/link': [1000, 50],
      'etc/shadow': [0, 42],
    });
  });

  it('lets an upper layer change an owner and drops what its whiteouts remove', async () => {
    const got = await owners([
      await tarLayer([
        { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000 },
        { name: 'home/app/file', content: 'x', uid: 1000, gid: 1000 },
        { name: 'srv/data/', type: 'directory', uid: 33, gid: 33 },
        { name: 'srv/data/a', content: 'a', uid: 33, gid: 33 },
        { name: 'opt/x/', type: 'directory', uid: 5, gid: 5 },
        { name: 'opt/x/y', content: 'y', uid: 5, gid: 5 },
        { name: 'var/owned', content: 'v', uid: 9, gid: 9 },
      ]),
      await tarLayer([
        { name: 'var/owned', content: 'v2' },
        { name: 'srv/.wh.data' },
        { name: 'opt/x/.wh..wh..opq' },
        { name: 'opt/x/z', content: 'z', uid: 6, gid: 6 },
      ]),
    ]);
    expect(got).toEqual({
      'home/app': [1000, 1000],
      'home/app/file': [1000, 1000],
      'opt/x': [5, 5],
      'opt/x/z': [6, 6],
    });
  });

  it('calls nothing when every file is root-owned', async () => {
    let called = false;
    await unpack([await tarLayer([{ name: 'home/app/file', content: 'x' }])], path.join(base, 'r'), {
      rootless: true,
      applyOwners: async () => {
        called = true;
      },
    });
    expect(called).toBe(false);
  });
});
