import type { Image } from '../image/types.js';
import type { ImageStore } from '../store/image-store.js';
import type { UnpackImage, UnpackLayer } from './layer-source.js';
import {
  type PullAndUnpackOptions,
  type PullAndUnpackResult,
  type PullAndUnpackSnapshotsOptions,
  type PullAndUnpackSnapshotsResult,
  pullAndUnpackSnapshotsWith,
  pullAndUnpackWith,
} from './pull-and-unpack.js';
import { SmallFilesThread } from './small-files.js';
import {
  snapshotLayersOf,
  type UnpackSnapshotsOptions,
  type UnpackSnapshotsResult,
  unpackSnapshotLayersWith,
} from './snapshots.js';
import { type UnpackOptions, type UnpackResult, unpackWith } from './unpack.js';
import { type UnpackImageResult, unpackImageWith } from './unpack-image.js';

/**
 * Unpacks layers and images, with the helper thread that writes their small files shared by all
 * its unpacks (one at a time or at the same time) instead of one thread per unpack. The thread is
 * started on first use and stopped by {@link Unpacker.close}, which the creator calls once its
 * unpacks are done; an unpacker left open does not keep the process alive.
 *
 * The functions `unpack`, `unpackImage` and `pullAndUnpack` do the same with an unpacker of their own.
 */
export class Unpacker {
  private readonly thread = new SmallFilesThread();

  /** See `unpack`. */
  unpack(layers: readonly UnpackLayer[], targetDir: string, options?: UnpackOptions): Promise<UnpackResult> {
    return unpackWith(this.thread, layers, targetDir, options);
  }

  /** See `unpackImage`. */
  unpackImage(
    image: UnpackImage,
    rootfsCacheDir: string,
    options?: UnpackOptions,
  ): Promise<UnpackImageResult> {
    return unpackImageWith(this.thread, image, rootfsCacheDir, options);
  }

  /** See `pullAndUnpack`. */
  pullAndUnpack(
    image: Image,
    store: Pick<ImageStore, 'pull' | 'blobPath'>,
    rootfsCacheDir: string,
    options?: PullAndUnpackOptions,
  ): Promise<PullAndUnpackResult> {
    return pullAndUnpackWith(this.thread, image, store, rootfsCacheDir, options);
  }

  /** See `unpackSnapshots`. */
  async unpackSnapshots(
    image: Pick<Image, 'config' | 'layers'>,
    snapshotsDir: string,
    options?: UnpackSnapshotsOptions,
  ): Promise<UnpackSnapshotsResult> {
    return unpackSnapshotLayersWith(this.thread, await snapshotLayersOf(image), snapshotsDir, options);
  }

  /** See `pullAndUnpackSnapshots`. */
  pullAndUnpackSnapshots(
    image: Image,
    store: Pick<ImageStore, 'pull' | 'blobPath'>,
    snapshotsDir: string,
    options?: PullAndUnpackSnapshotsOptions,
  ): Promise<PullAndUnpackSnapshotsResult> {
    return pullAndUnpackSnapshotsWith(this.thread, image, store, snapshotsDir, options);
  }

  /** Stops the helper thread: unpacks still running fail, and the unpacker cannot be used again. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
