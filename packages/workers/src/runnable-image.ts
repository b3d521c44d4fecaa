import { stat } from 'node:fs/promises';
import type { IiiPaths } from '@iii/config';
import { type ImageConfig, ImageStore, rootfsPath, unpackImage } from '@iii/oci';
import { imageOwnersForUnpack } from '@iii/sandbox';
import { WorkersError } from './errors.js';

/** The locked image of a worker, ready to run: its read-only rootfs and its config. */
export interface WorkerImage {
  digest: string;
  rootfs: string;
  config: ImageConfig;
  /** True when the rootfs had to be unpacked from the store now. */
  unpacked: boolean;
}

/** A pinned image is not in the local store (`iii worker sync` fetches it). */
export class ImageNotCachedError extends WorkersError {
  override readonly name = 'ImageNotCachedError';
  constructor(worker: string, digest: string, cause: unknown) {
    super(
      'IMAGE_NOT_CACHED',
      `the image of worker "${worker}" (${digest}) is not in the local store`,
      'Fetch the locked images with `iii worker sync`, then start the worker again.',
      { cause },
    );
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * Finds a locked image locally: the rootfs cache keyed by manifest digest, unpacked from the local
 * store when it is not there yet. Never contacts a registry: running uses what `add`/`sync` fetched.
 */
export async function loadWorkerImage(
  paths: Pick<IiiPaths, 'store' | 'rootfs'>,
  worker: string,
  digest: string,
  signal?: AbortSignal,
): Promise<WorkerImage> {
  let image: Awaited<ReturnType<ImageStore['openDigest']>>;
  try {
    image = await new ImageStore(paths.store).openDigest(digest);
  } catch (err) {
    throw new ImageNotCachedError(worker, digest, err);
  }
  try {
    const config = await image.config();
    const target = rootfsPath(paths.rootfs, digest);
    if (await isDirectory(target)) return { digest, rootfs: target, config, unpacked: false };
    // Rootless with subordinate ids, the files get the image's owners as the sandbox maps them.
    const applyOwners = await imageOwnersForUnpack();
    const result = await unpackImage(image, paths.rootfs, {
      ...(signal ? { signal } : {}),
      ...(applyOwners ? { applyOwners } : {}),
    });
    return { digest, rootfs: result.rootfs, config, unpacked: !result.reused };
  } finally {
    await image.close?.();
  }
}
