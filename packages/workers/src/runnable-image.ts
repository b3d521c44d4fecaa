import { stat } from 'node:fs/promises';
import type { IiiPaths } from '@iii/config';
import {
  type ImageConfig,
  ImageStore,
  rootfsPath,
  UnpackError,
  unpackImage,
  unpackSnapshots,
} from '@iii/oci';
import { type ImageLayer, imageOwnersForUnpack } from '@iii/sandbox';
import { WorkersError } from './errors.js';
import { layersOf } from './worker-image.js';

/** The locked image of a worker, ready to run: its read-only rootfs (or layers) and its config. */
export interface WorkerImage {
  digest: string;
  /** The merged rootfs, or with `layers` the top layer's directory. */
  rootfs: string;
  /** The image's layers (snapshots, top first), for overlayfs to stack instead of `rootfs`. */
  layers?: ImageLayer[];
  /** Why the merged rootfs is used although layers were asked for. */
  fallback?: string;
  config: ImageConfig;
  /** True when the rootfs had to be unpacked from the store now. */
  unpacked: boolean;
}

/** Options of {@link loadWorkerImage}: an abort signal, and whether the sandbox can stack the image's layers. */
export interface LoadWorkerImageOptions {
  signal?: AbortSignal;
  /**
   * Run on the image's layers, shared with other images, where the sandbox can stack them: given
   * the layer directories (top first), answers why it cannot (then the merged rootfs is used).
   */
  stack?: (layers: readonly string[]) => string | undefined;
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
  paths: Pick<IiiPaths, 'store' | 'rootfs'> & Partial<Pick<IiiPaths, 'snapshots'>>,
  worker: string,
  digest: string,
  signalOrOptions?: AbortSignal | LoadWorkerImageOptions,
): Promise<WorkerImage> {
  const options: LoadWorkerImageOptions =
    signalOrOptions instanceof AbortSignal ? { signal: signalOrOptions } : (signalOrOptions ?? {});
  const { signal } = options;
  let image: Awaited<ReturnType<ImageStore['openDigest']>>;
  try {
    image = await new ImageStore(paths.store).openDigest(digest);
  } catch (err) {
    throw new ImageNotCachedError(worker, digest, err);
  }
  try {
    const config = await image.config();
    let fallback: string | undefined;
    if (options.stack && paths.snapshots) {
      // Layers already unpacked are reused; the others (or all, for an image unpacked before
      // layers were kept apart) are unpacked from the store now.
      const applyOwners = await imageOwnersForUnpack();
      try {
        const result = await unpackSnapshots(image, paths.snapshots, {
          ...(signal ? { signal } : {}),
          ...(applyOwners ? { applyOwners } : {}),
        });
        const layers = layersOf(result.snapshots);
        fallback = options.stack(layers.map((l) => l.path));
        if (fallback === undefined) {
          return {
            digest,
            rootfs: (layers[0] as ImageLayer).path,
            layers,
            config,
            unpacked: result.snapshots.some((s) => !s.reused),
          };
        }
      } catch (err) {
        if (!(err instanceof UnpackError) || !err.code.startsWith('SNAPSHOT_')) throw err;
        fallback = err.message;
      }
    }
    const merged = await unpackMerged(image, paths.rootfs, digest, signal);
    return { ...merged, config, ...(fallback ? { fallback } : {}) };
  } finally {
    await image.close?.();
  }
}

async function unpackMerged(
  image: Awaited<ReturnType<ImageStore['openDigest']>>,
  rootfsDir: string,
  digest: string,
  signal: AbortSignal | undefined,
): Promise<{ digest: string; rootfs: string; unpacked: boolean }> {
  const target = rootfsPath(rootfsDir, digest);
  if (await isDirectory(target)) return { digest, rootfs: target, unpacked: false };
  // Rootless with subordinate ids, the files get the image's owners as the sandbox maps them.
  const applyOwners = await imageOwnersForUnpack();
  const result = await unpackImage(image, rootfsDir, {
    ...(signal ? { signal } : {}),
    ...(applyOwners ? { applyOwners } : {}),
  });
  return { digest, rootfs: result.rootfs, unpacked: !result.reused };
}
