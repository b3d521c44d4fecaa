import { lstat, readFile } from 'node:fs/promises';
import { type ImageStore, parseManifest, rootfsPath } from '@iii/oci';

/**
 * Whether an image is fully present locally: its manifest, config and every layer in the store,
 * and its unpacked rootfs. This is what `iii` needs to start the worker without a network.
 */
export async function imagePresent(store: ImageStore, rootfsDir: string, digest: string): Promise<boolean> {
  try {
    const bytes = await readFile(store.blobPath(digest));
    const parsed = parseManifest(bytes);
    if (parsed.kind !== 'manifest') return false;
    const m = parsed.manifest;
    for (const d of [m.config, ...m.layers]) if (!(await store.hasBlob(d))) return false;
    const st = await lstat(rootfsPath(rootfsDir, digest)).catch(() => undefined);
    return st?.isDirectory() === true;
  } catch {
    return false;
  }
}
