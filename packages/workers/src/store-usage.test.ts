import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainIds, ImageStore, snapshotDir } from '@iii/oci';
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
    // A tree counts as `du -sb` counts it: its directory too.
    const goneDir = (await lstat(join(rootfs, gone.slice(7)))).size;
    expect(usage.bytes).toBe(usage.blobs.reduce((n, b) => n + b.size, 0) + goneDir + 'rootfs of gone'.length);

    await deleteCache(store, usage);
    expect(await readdir(rootfs)).toEqual([kept.slice(7)]);
    expect((await unreferencedCache(store, rootfs, [kept])).bytes).toBe(0);
    expect((await readdir(join(dir, 'store', 'blobs', 'sha256'))).length).toBe(4);
  });
});

describe('merged trees of kept images whose layers are snapshots', () => {
  /** A kept image with two layers (diff IDs as its config lists them) and a merged tree. */
  async function layered(): Promise<{ digest: string; path: string; chains: string[] }> {
    const diffIds = ['a', 'b'].map((c) => `sha256:${c.repeat(64)}`);
    const config = await store.putBytes(
      Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }),
      ),
    );
    const layer = await store.putBytes(Buffer.from('layer'));
    const manifest = await store.putBytes(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: config.digest,
            size: config.size,
          },
          layers: diffIds.map(() => ({
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: layer.digest,
            size: layer.size,
          })),
        }),
      ),
    );
    const path = join(rootfs, manifest.digest.slice(7));
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'file'), 'merged');
    return { digest: manifest.digest, path, chains: chainIds(diffIds) };
  }
  const commit = async (chainId: string) => {
    const at = snapshotDir(join(dir, 'snapshots'), chainId);
    await mkdir(join(at, 'fs'), { recursive: true });
    await writeFile(join(at, 'snapshot.json'), JSON.stringify({ chainId }));
  };

  it('frees the tree once every layer is a snapshot and no running worker runs on it', async () => {
    const { digest, path, chains } = await layered();
    const snapshots = join(dir, 'snapshots');
    const superseded = async (inUse?: ReadonlySet<string>) =>
      (await unreferencedCache(store, rootfs, [digest], snapshots, inUse)).rootfs;

    // One layer not unpacked yet: the tree is what the image runs on.
    await commit(chains[0] as string);
    expect(await superseded(new Set())).toEqual([]);
    await commit(chains[1] as string);
    const size = (await lstat(path)).size + 'merged'.length;
    expect(await superseded(new Set())).toEqual([{ digest, path, size, superseded: true }]);
    // A running worker runs on it, or what runs is unknown: it stays.
    expect(await superseded(new Set([path]))).toEqual([]);
    expect(await superseded(undefined)).toEqual([]);

    const usage = await unreferencedCache(store, rootfs, [digest], snapshots, new Set());
    expect(usage.snapshots).toEqual([]);
    expect(usage.blobs).toEqual([]);
    await deleteCache(store, usage);
    expect(await readdir(rootfs)).toEqual([]);
    expect((await readdir(snapshots)).length).toBe(2);
  });
});
