import fs from 'node:fs/promises';
import path from 'node:path';
import { parseDigest } from '../image/digest.js';
import { abandonedUnpacks } from './abandoned.js';
import { TargetExistsError } from './errors.js';
import type { UnpackImage } from './layer-source.js';
import { removeTree } from './remove-tree.js';
import { type SmallFilesThread, withSmallFilesThread } from './small-files.js';
import { type UnpackOptions, type UnpackResult, unpackTempPrefix, unpackWith } from './unpack.js';

/** The root filesystem {@link unpackImage} made or found in the rootfs cache. */
export interface UnpackImageResult extends UnpackResult {
  /** True when a finished rootfs for this manifest digest was already in the cache. */
  readonly reused: boolean;
}

/** Where the rootfs of an image with this manifest digest lives in a rootfs cache. */
export function rootfsPath(rootfsCacheDir: string, manifestDigest: string): string {
  return path.resolve(rootfsCacheDir, parseDigest(manifestDigest).hex);
}

/**
 * Unpacks an image into `<rootfsCacheDir>/<manifest digest hex>`, once. A finished rootfs is reused
 * without reading any layer; an unpack is atomic (temporary directory, then rename), so concurrent
 * unpacks of the same image are safe: the first to finish wins and the others discard their work.
 */
export async function unpackImage(
  image: UnpackImage,
  rootfsCacheDir: string,
  options: UnpackOptions = {},
): Promise<UnpackImageResult> {
  const target = rootfsPath(rootfsCacheDir, image.digest);
  // A reused rootfs needs no thread.
  if (await isDirectory(target)) return reused(target);
  return withSmallFilesThread((thread) => unpackImageWith(thread, image, rootfsCacheDir, options));
}

/** {@link unpackImage} with the small files written by `thread` (see `Unpacker`). */
export async function unpackImageWith(
  thread: SmallFilesThread,
  image: UnpackImage,
  rootfsCacheDir: string,
  options: UnpackOptions = {},
): Promise<UnpackImageResult> {
  const target = rootfsPath(rootfsCacheDir, image.digest);
  if (await isDirectory(target)) return reused(target);
  await sweepAbandoned(target);
  try {
    return { ...(await unpackWith(thread, await image.layers(), target, options)), reused: false };
  } catch (error) {
    if (error instanceof TargetExistsError && (await isDirectory(target))) return reused(target);
    throw error;
  }
}

function reused(rootfs: string): UnpackImageResult {
  return { rootfs, entries: 0, bytes: 0, warnings: [], reused: true };
}

async function isDirectory(target: string): Promise<boolean> {
  return (await fs.lstat(target).catch(() => undefined))?.isDirectory() === true;
}

/** Removes temporary directories of this image left behind by processes that no longer exist. */
async function sweepAbandoned(target: string): Promise<void> {
  for (const dir of await abandonedUnpacks(path.dirname(target), unpackTempPrefix(target))) {
    await removeTree(dir);
  }
}
