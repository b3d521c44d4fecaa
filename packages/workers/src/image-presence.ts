import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  chainIds,
  type ImageConfig,
  type ImageStore,
  isSnapshotCommitted,
  parseImageConfig,
  parseManifest,
  rootfsPath,
  snapshotDir,
} from '@iii/oci';
import { TreeMeter } from './disk-usage.js';
import { chainsOf } from './store-usage.js';

/**
 * Whether an image is fully present locally: its manifest, config and every layer in the store,
 * and its unpacked rootfs. This is what `iii` needs to start the worker without a network.
 */
export async function imagePresent(
  store: ImageStore,
  rootfsDir: string,
  digest: string,
  snapshotsDir?: string,
): Promise<boolean> {
  try {
    const bytes = await readFile(store.blobPath(digest));
    const parsed = parseManifest(bytes);
    if (parsed.kind !== 'manifest') return false;
    const m = parsed.manifest;
    for (const d of [m.config, ...m.layers]) if (!(await store.hasBlob(d))) return false;
    const st = await lstat(rootfsPath(rootfsDir, digest)).catch(() => undefined);
    if (st?.isDirectory() === true) return true;
    if (!snapshotsDir) return false;
    // Or every layer unpacked as a snapshot.
    const config = parseImageConfig(await readFile(store.blobPath(m.config.digest)));
    for (const id of chainIds(config.rootfs.diff_ids)) {
      if (!(await isSnapshotCommitted(snapshotsDir, id))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** What the store and the rootfs cache hold of one pinned image, as `iii worker inspect` shows it. */
export interface StoredImageInfo {
  /** Fully present: {@link imagePresent}. */
  present: boolean;
  /** Compressed size (manifest, config and layers), or null when the manifest is not in the store. */
  size: number | null;
  /** The image config, or undefined when it is not in the store. */
  config: ImageConfig | undefined;
  /** The unpacked rootfs, or null when it is not unpacked. */
  rootfs: string | null;
  /**
   * Its layers unpacked as snapshots, lowest first (null when some are not): each with its size and
   * whether another image of the store has it too (a prune of this image frees only the others).
   */
  layers:
    | {
        chainId: string;
        path: string;
        bytes: number;
        shared: boolean;
        /** The other images of the store that have it: a name each was stored under, else its digest. */
        sharedWith: string[];
      }[]
    | null;
}

/** Describes a pinned image from the local store and rootfs cache only (no registry). */
export async function storedImageInfo(
  store: ImageStore,
  rootfsDir: string,
  digest: string,
  snapshotsDir?: string,
): Promise<StoredImageInfo> {
  const present = await imagePresent(store, rootfsDir, digest, snapshotsDir);
  let size: number | null = null;
  let config: ImageConfig | undefined;
  try {
    const image = await store.openDigest(digest);
    const manifest = await image.manifest();
    const raw = await image.rawManifest();
    size = raw.bytes.length + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
    config = await image.config();
  } catch {
    // Not in the store: shown as missing; `iii worker sync` fetches it.
  }
  const path = rootfsPath(rootfsDir, digest);
  const unpacked = (await lstat(path).catch(() => undefined))?.isDirectory() === true;
  return {
    present,
    size,
    config,
    rootfs: unpacked ? path : null,
    layers: await layersInfo(store, digest, config, snapshotsDir),
  };
}

async function layersInfo(
  store: ImageStore,
  digest: string,
  config: ImageConfig | undefined,
  snapshotsDir: string | undefined,
): Promise<StoredImageInfo['layers']> {
  if (!snapshotsDir || !config) return null;
  // Each other image of the store, by a name it was stored under (the first), with its layers.
  const labels = new Map<string, string>();
  for (const e of await store.list()) {
    const d = e.descriptor.digest;
    if (d === digest) continue;
    if (!labels.has(d) || (e.name && labels.get(d) === d)) labels.set(d, e.name ?? d);
  }
  const others: { label: string; chains: Set<string> }[] = [];
  for (const [d, label] of labels) {
    const chains = await chainsOf(store, [d]);
    // An image whose layers cannot be told shares nothing that can be shown.
    if (chains && chains.size > 0) others.push({ label, chains });
  }
  const out: NonNullable<StoredImageInfo['layers']> = [];
  for (const chainId of chainIds(config.rootfs.diff_ids)) {
    const dir = snapshotDir(snapshotsDir, chainId);
    if (!(await isSnapshotCommitted(snapshotsDir, chainId))) return null;
    const sharedWith = [...new Set(others.filter((o) => o.chains.has(chainId)).map((o) => o.label))].sort();
    out.push({
      chainId,
      path: join(dir, 'fs'),
      bytes: await new TreeMeter().size(dir),
      shared: sharedWith.length > 0,
      sharedWith,
    });
  }
  return out;
}
