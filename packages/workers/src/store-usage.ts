import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageStore, parseDigest, parseManifest } from '@iii/oci';
import { removeMappedTree } from '@iii/sandbox';

export interface StoredBlob {
  digest: string;
  size: number;
}

export interface CacheUsage {
  /** Blobs no kept image needs. */
  blobs: StoredBlob[];
  /** Unpacked root filesystems no kept image needs. */
  rootfs: { digest: string; path: string; size: number }[];
  bytes: number;
}

/** Every blob in the store's `blobs/sha256` directory. */
export async function listBlobs(store: ImageStore): Promise<StoredBlob[]> {
  const dir = join(store.root, 'blobs', 'sha256');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: StoredBlob[] = [];
  for (const name of names) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (st?.isFile()) out.push({ digest: `sha256:${name}`, size: st.size });
  }
  return out;
}

/**
 * The blobs an image needs: its manifest, config and layers; for an index, the index itself.
 * Unreadable or missing manifests contribute only themselves (they are what `sync` repairs).
 */
export async function blobsOf(store: ImageStore, digests: Iterable<string>): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const digest of digests) {
    keep.add(digest);
    let bytes: Buffer;
    try {
      bytes = await readFile(store.blobPath(digest));
    } catch {
      continue;
    }
    try {
      const parsed = parseManifest(bytes);
      if (parsed.kind === 'manifest') {
        keep.add(parsed.manifest.config.digest);
        for (const layer of parsed.manifest.layers) keep.add(layer.digest);
      }
    } catch {
      // Not a manifest we understand: keep the blob, nothing more.
    }
  }
  return keep;
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
  const gone = new Set(usage.blobs.map((b) => b.digest));
  if (gone.size > 0) await store.updateIndex((manifests) => manifests.filter((m) => !gone.has(m.digest)));
  for (const blob of usage.blobs) await rm(store.blobPath(blob.digest), { force: true });
  for (const r of usage.rootfs) {
    parseDigest(r.digest);
    await rm(r.path, { recursive: true, force: true }).catch(async (err: NodeJS.ErrnoException) => {
      // Rootless, files of the image's other owners belong to subordinate ids: removed in the user namespace.
      if ((err.code === 'EACCES' || err.code === 'EPERM') && (await removeMappedTree(r.path))) return;
      throw err;
    });
  }
}
