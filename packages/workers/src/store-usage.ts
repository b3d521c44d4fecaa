import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageStore, parseDigest, type StoredBlob } from '@iii/oci';
import { removeMappedTree } from '@iii/sandbox';

/** A blob of the store and its size (`ImageStore.blobs()`). */
export type { StoredBlob };

/** What a prune would delete: blobs and root filesystems, with their sizes. */
export interface CacheUsage {
  /** Blobs no kept image needs. */
  blobs: StoredBlob[];
  /** Unpacked root filesystems no kept image needs. */
  rootfs: { digest: string; path: string; size: number }[];
  bytes: number;
}

/** Every blob of the store, as the store lists it. */
export function listBlobs(store: ImageStore): Promise<StoredBlob[]> {
  return store.blobs();
}

/**
 * The blobs an image needs: its manifest, config and layers; for an index, the index itself.
 * Unreadable or missing manifests contribute only themselves (they are what `sync` repairs).
 * The store's garbage collection answers it (`ImageStore.reachable`).
 */
export function blobsOf(store: ImageStore, digests: Iterable<string>): Promise<Set<string>> {
  return store.reachable(digests);
}

/** Disk use of a directory tree, without following symlinks. */
export async function treeSize(path: string): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[]))
    total += await treeSize(join(path, name));
  return total;
}

/**
 * What is cached but not needed by the images in `keep` (manifest and index digests): the blobs
 * outside their closure, and root filesystems of other manifests.
 */
export async function unreferencedCache(
  store: ImageStore,
  rootfsDir: string,
  keep: Iterable<string>,
): Promise<CacheUsage> {
  const kept = await blobsOf(store, keep);
  const blobs = (await listBlobs(store)).filter((b) => !kept.has(b.digest));
  const rootfs: CacheUsage['rootfs'] = [];
  for (const name of await readdir(rootfsDir).catch(() => [] as string[])) {
    // Unpacks in progress use temporary names; only finished caches are named by a digest.
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const digest = `sha256:${name}`;
    if (kept.has(digest)) continue;
    const path = join(rootfsDir, name);
    rootfs.push({ digest, path, size: await treeSize(path) });
  }
  const bytes = blobs.reduce((n, b) => n + b.size, 0) + rootfs.reduce((n, r) => n + r.size, 0);
  return { blobs, rootfs, bytes };
}

/** Deletes what {@link unreferencedCache} found and drops the store's index entries for it. */
export async function deleteCache(store: ImageStore, usage: CacheUsage): Promise<void> {
  // Through the store: index.json entries of deleted manifests first, then the blobs.
  await store.deleteBlobs(usage.blobs.map((b) => b.digest));
  for (const r of usage.rootfs) {
    parseDigest(r.digest);
    await rm(r.path, { recursive: true, force: true }).catch(async (err: NodeJS.ErrnoException) => {
      // Rootless, files of the image's other owners belong to subordinate ids: removed in the user namespace.
      if ((err.code === 'EACCES' || err.code === 'EPERM') && (await removeMappedTree(r.path))) return;
      throw err;
    });
  }
}
