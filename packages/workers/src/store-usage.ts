import { readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  abandonedUnpacks,
  chainIds,
  type ImageStore,
  isSnapshotCommitted,
  listSnapshots,
  type PartialDownload,
  parseDigest,
  parseImageConfig,
  parseManifest,
  removeSnapshot,
  type StoredBlob,
} from '@iii/oci';
import { removeMappedTree } from '@iii/sandbox';
import { TreeMeter } from './tree-meter.js';

/** A blob of the store and its size (`ImageStore.blobs()`). */
export type { StoredBlob };

/** What a prune would delete: blobs and root filesystems, with their sizes. */
export interface CacheUsage {
  /** Blobs no kept image needs. */
  blobs: StoredBlob[];
  /**
   * Unpacked root filesystems no kept image needs, and (`superseded`) merged trees of kept images
   * whose layers are all unpacked as snapshots, which workers now stack instead, that no running
   * worker uses.
   */
  rootfs: { digest: string; path: string; size: number; superseded?: boolean }[];
  /** Layer snapshots no kept image has (by chain ID); those of kept images stay, shared or not. */
  snapshots: { chainId: string; path: string; size: number }[];
  /** Chain IDs of snapshots of the images a prune deletes that stay, as a kept image has them too. */
  sharedKept: string[];
  /** Downloads that stopped pulls left (a later pull would resume them). */
  downloads: PartialDownload[];
  /** Directories of unpacks (and snapshot removals) whose process died before it finished. */
  abandoned: { path: string; size: number }[];
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

/**
 * What is cached but not needed by the images in `keep` (manifest and index digests): the blobs
 * outside their closure, and root filesystems of other manifests.
 */
export async function unreferencedCache(
  store: ImageStore,
  rootfsDir: string,
  keep: Iterable<string>,
  snapshotsDir?: string,
  rootfsInUse?: ReadonlySet<string>,
): Promise<CacheUsage> {
  const keepList = [...keep];
  const kept = await blobsOf(store, keepList);
  const blobs = (await listBlobs(store)).filter((b) => !kept.has(b.digest));
  const rootfs: CacheUsage['rootfs'] = [];
  for (const name of await readdir(rootfsDir).catch(() => [] as string[])) {
    // Unpacks in progress use temporary names; only finished caches are named by a digest.
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const digest = `sha256:${name}`;
    const path = join(rootfsDir, name);
    if (!kept.has(digest)) {
      rootfs.push({ digest, path, size: await new TreeMeter().size(path) });
      continue;
    }
    // A merged tree from before layers were kept apart: once every layer is a snapshot, workers
    // stack those; the tree goes when no running worker still runs on it (unknown: it stays).
    if (!snapshotsDir || !rootfsInUse || rootfsInUse.has(path)) continue;
    if (await snapshotsComplete(store, digest, snapshotsDir)) {
      rootfs.push({ digest, path, size: await new TreeMeter().size(path), superseded: true });
    }
  }
  const snapshots: CacheUsage['snapshots'] = [];
  const needed = snapshotsDir ? await chainsOf(store, keepList) : undefined;
  // A kept image whose layers cannot be told (its config unreadable) keeps every snapshot.
  const sharedKept: string[] = [];
  if (snapshotsDir && needed) {
    const gone = (await store.list()).map((e) => e.descriptor.digest).filter((d) => !kept.has(d));
    const goneChains = gone.length > 0 ? ((await chainsOf(store, gone)) ?? new Set<string>()) : new Set();
    for (const s of await listSnapshots(snapshotsDir)) {
      if (needed.has(s.chainId)) {
        if (goneChains.has(s.chainId)) sharedKept.push(s.chainId);
        continue;
      }
      snapshots.push({ chainId: s.chainId, path: s.dir, size: await new TreeMeter().size(s.dir) });
    }
  }
  const downloads = await store.partialDownloads();
  const abandoned: CacheUsage['abandoned'] = [];
  for (const dir of [rootfsDir, ...(snapshotsDir ? [snapshotsDir] : [])]) {
    for (const path of await abandonedUnpacks(dir)) {
      abandoned.push({ path, size: await new TreeMeter().size(path) });
    }
  }
  const bytes =
    blobs.reduce((n, b) => n + b.size, 0) +
    rootfs.reduce((n, r) => n + r.size, 0) +
    snapshots.reduce((n, r) => n + r.size, 0) +
    downloads.reduce((n, d) => n + d.size, 0) +
    abandoned.reduce((n, a) => n + a.size, 0);
  return { blobs, rootfs, snapshots, sharedKept, downloads, abandoned, bytes };
}

/** Whether every layer of the image `digest` (a manifest) is unpacked as a committed snapshot. */
export async function snapshotsComplete(
  store: ImageStore,
  digest: string,
  snapshotsDir: string,
): Promise<boolean> {
  try {
    const parsed = parseManifest(await readFile(store.blobPath(digest)));
    if (parsed.kind !== 'manifest') return false;
    const config = parseImageConfig(await readFile(store.blobPath(parsed.manifest.config.digest)));
    const ids = chainIds(config.rootfs.diff_ids);
    if (ids.length === 0) return false;
    for (const id of ids) {
      if (!(await isSnapshotCommitted(snapshotsDir, id))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The chain IDs of the layers of the images `digests` (manifests; an index reaches its stored
 * platform manifests through `keep` itself), or undefined when one cannot be read.
 */
export async function chainsOf(
  store: ImageStore,
  digests: Iterable<string>,
): Promise<Set<string> | undefined> {
  const out = new Set<string>();
  for (const digest of digests) {
    let bytes: Buffer;
    try {
      bytes = await readFile(store.blobPath(digest));
    } catch {
      // Not in the store: nothing of it is unpacked from this store either.
      continue;
    }
    try {
      const parsed = parseManifest(bytes);
      if (parsed.kind !== 'manifest') continue;
      const config = parseImageConfig(await readFile(store.blobPath(parsed.manifest.config.digest)));
      for (const id of chainIds(config.rootfs.diff_ids)) out.add(id);
    } catch {
      return undefined;
    }
  }
  return out;
}

/** Deletes what {@link unreferencedCache} found and drops the store's index entries for it. */
export async function deleteCache(store: ImageStore, usage: CacheUsage): Promise<void> {
  // Through the store: index.json entries of deleted manifests first, then the blobs.
  await store.deleteBlobs(usage.blobs.map((b) => b.digest));
  for (const r of usage.rootfs) {
    parseDigest(r.digest);
    await removeOwnedTree(r.path);
  }
  for (const s of usage.snapshots) await removeSnapshot(dirname(s.path), s.chainId, removeOwnedTree);
  await store.deletePartialDownloads(usage.downloads);
  for (const a of usage.abandoned) await removeOwnedTree(a.path);
}

async function removeOwnedTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(async (err: NodeJS.ErrnoException) => {
    // Rootless, files of the image's other owners belong to subordinate ids: removed in the user namespace.
    if ((err.code === 'EACCES' || err.code === 'EPERM') && (await removeMappedTree(path))) return;
    throw err;
  });
}
