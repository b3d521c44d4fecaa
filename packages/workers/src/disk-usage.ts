import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageStore, parseManifest } from '@iii/oci';
import { listBlobs } from './store-usage.js';

/**
 * Bytes of a tree as `du --apparent-size --one-file-system` counts them: every file, directory and
 * symlink once (hard links once per walk), without entering another file system (a mounted overlay).
 */
export class TreeMeter {
  private readonly seen = new Set<string>();
  private readonly dev: number | undefined;

  constructor(dev?: number) {
    this.dev = dev;
  }

  async size(path: string): Promise<number> {
    const st = await lstat(path).catch(() => undefined);
    if (!st) return 0;
    const key = `${st.dev}:${st.ino}`;
    if (this.seen.has(key)) return 0;
    this.seen.add(key);
    let total = st.size;
    if (!st.isDirectory() || (this.dev !== undefined && st.dev !== this.dev)) return total;
    for (const name of await readdir(path).catch(() => [] as string[])) {
      total += await this.size(join(path, name));
    }
    return total;
  }
}

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
