import { readFile } from 'node:fs/promises';
import { type ImageStore, parseManifest } from '@iii/oci';
import { listBlobs } from './store-usage.js';
import { TreeMeter } from './tree-meter.js';

export { TreeMeter };

/** One image in the store: a manifest, with its blobs and unpacked root file system. */
export interface ImageUsage {
  digest: string;
  /** Names recorded for it in the store (the references it was pulled as). */
  names: string[];
  /** Manifest, config and layers as stored (compressed), in bytes. */
  compressed: number;
  /** Its unpacked root file system, in bytes (null when it is not unpacked). */
  unpacked: number | null;
  /** Bytes of its blobs that other images of the store use too. */
  shared: number;
  /** Workers of config.yaml pinned to it. */
  workers: string[];
  /** Workers that would go back to it with `iii worker rollback`. */
  previousOf: string[];
  /** Whether `iii worker prune` deletes it. */
  prunable: boolean;
}

/** Manifest digests of the store with the blobs each needs. */
export async function storedManifests(
  store: ImageStore,
): Promise<{ digest: string; blobs: { digest: string; size: number }[] }[]> {
  const out: { digest: string; blobs: { digest: string; size: number }[] }[] = [];
  const sizes = new Map((await listBlobs(store)).map((b) => [b.digest, b.size]));
  for (const digest of sizes.keys()) {
    const bytes = await readFile(store.blobPath(digest)).catch(() => undefined);
    // Layers are large and never JSON; manifests are small.
    if (!bytes || bytes.length > 4 << 20 || bytes[0] !== 0x7b) continue;
    let parsed: ReturnType<typeof parseManifest>;
    try {
      parsed = parseManifest(bytes);
    } catch {
      continue;
    }
    if (parsed.kind !== 'manifest') continue;
    const m = parsed.manifest;
    const blobs = [digest, m.config.digest, ...m.layers.map((l) => l.digest)]
      .filter((d, i, all) => all.indexOf(d) === i && sizes.has(d))
      .map((d) => ({ digest: d, size: sizes.get(d)! }));
    out.push({ digest, blobs });
  }
  return out.sort((a, b) => a.digest.localeCompare(b.digest));
}
