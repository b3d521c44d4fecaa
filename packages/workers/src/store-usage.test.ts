import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore } from '@iii/oci';
import { putSmallImage } from '@iii/tools/fixtures';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteCache, unreferencedCache } from './store-usage.js';

let dir: string;
let store: ImageStore;
let rootfs: string;

/** Stores a small image and gives it an unpacked root filesystem; returns its manifest digest. */
async function image(tag: string, layers: string[]): Promise<string> {
  const m = await putSmallImage(store, tag, layers);
  await mkdir(join(rootfs, m.digest.slice(7)), { recursive: true });
  await writeFile(join(rootfs, m.digest.slice(7), 'file'), `rootfs of ${tag}`);
  return m.digest;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-store-usage-'));
  store = new ImageStore(join(dir, 'store'));
  rootfs = join(dir, 'rootfs');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('unreferencedCache', () => {
  it('finds blobs and root filesystems outside the kept images, sharing layers correctly', async () => {
    const kept = await image('kept', ['shared layer', 'kept layer']);
    const gone = await image('gone', ['shared layer', 'gone layer']);
    const usage = await unreferencedCache(store, rootfs, [kept]);
    // The gone image's manifest, config and own layer; the shared layer stays.
    expect(usage.blobs).toHaveLength(3);
    expect(usage.rootfs.map((r) => r.digest)).toEqual([gone]);
    expect(usage.bytes).toBe(usage.blobs.reduce((n, b) => n + b.size, 0) + 'rootfs of gone'.length);

    await deleteCache(store, usage);
    expect(await readdir(rootfs)).toEqual([kept.slice(7)]);
    expect((await unreferencedCache(store, rootfs, [kept])).bytes).toBe(0);
    expect((await readdir(join(dir, 'store', 'blobs', 'sha256'))).length).toBe(4);
  });
});
