import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { sha256Digest } from '../image/digest.js';
import { parseImageConfig } from '../image/schemas.js';
import type { Image, ImageConfig, Layer } from '../image/types.js';
import type { ImageStore, PullOptions } from '../store/image-store.js';
import { LayerFormatError } from './errors.js';
import type { UnpackLayer } from './layer-source.js';
import { type SmallFilesThread, withSmallFilesThread } from './small-files.js';
import {
  type UnpackSnapshotsOptions,
  type UnpackSnapshotsResult,
  unpackSnapshotLayersWith,
} from './snapshots.js';
import type { UnpackOptions } from './unpack.js';
import { type UnpackImageResult, unpackImageWith } from './unpack-image.js';

/** Options of {@link pullAndUnpack}: those of {@link unpack}, and those passed to the store's pull. */
export interface PullAndUnpackOptions extends UnpackOptions {
  /** Passed to `store.pull` (progress of the downloads, names, concurrency). */
  readonly pull?: Omit<PullOptions, 'signal'>;
}

/** What {@link pullAndUnpack} made: the stored image and its unpacked root filesystem. */
export interface PullAndUnpackResult {
  /** The image as stored (reads only the store from now on). */
  readonly image: Image;
  readonly rootfs: UnpackImageResult;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Rejections are observed by whoever awaits the layer; an unawaited one must not crash the process.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * Pulls an image into the store and unpacks it into the rootfs cache at the same time: a layer the
 * unpack is already waiting for when its download starts is unpacked from the download itself
 * (finishing only once the store verified and committed the blob); any other layer is unpacked
 * from the store as soon as its blob is committed there, while later layers are still downloading. So the whole takes about as long as the slower of the two, not their sum.
 * If either side fails, the other is cancelled; a failed unpack leaves nothing in the rootfs cache.
 */
export function pullAndUnpack(
  image: Image,
  store: Pick<ImageStore, 'pull' | 'blobPath'>,
  rootfsCacheDir: string,
  options: PullAndUnpackOptions = {},
): Promise<PullAndUnpackResult> {
  return withSmallFilesThread((thread) => pullAndUnpackWith(thread, image, store, rootfsCacheDir, options));
}

/** {@link pullAndUnpack} with the small files written by `thread` (see `Unpacker`). */
export async function pullAndUnpackWith(
  thread: SmallFilesThread,
  image: Image,
  store: Pick<ImageStore, 'pull' | 'blobPath'>,
  rootfsCacheDir: string,
  options: PullAndUnpackOptions = {},
): Promise<PullAndUnpackResult> {
  const { image: stored, unpacked } = await pullWhileUnpacking(image, store, options, (layers, signal) =>
    unpackImageWith(thread, { digest: image.digest, layers: async () => layers }, rootfsCacheDir, {
      ...options,
      signal,
    }),
  );
  return { image: stored, rootfs: unpacked };
}

/** Options of {@link pullAndUnpackSnapshots}: those of {@link unpackSnapshots}, and those passed to the store's pull. */
export interface PullAndUnpackSnapshotsOptions extends UnpackSnapshotsOptions {
  /** Passed to `store.pull` (progress of the downloads, names, concurrency). */
  readonly pull?: Omit<PullOptions, 'signal'>;
}

/** What {@link pullAndUnpackSnapshots} made: the stored image and its layer snapshots. */
export interface PullAndUnpackSnapshotsResult {
  /** The image as stored (reads only the store from now on). */
  readonly image: Image;
  readonly snapshots: UnpackSnapshotsResult;
}

/**
 * {@link pullAndUnpack} into a snapshot directory (see {@link unpackSnapshots}): every layer whose
 * snapshot is missing is unpacked while it downloads, each into a snapshot of its own, keyed by
 * chain ID; a layer whose snapshot exists is neither unpacked nor waited for.
 */
export function pullAndUnpackSnapshots(
  image: Image,
  store: Pick<ImageStore, 'pull' | 'blobPath'>,
  snapshotsDir: string,
  options: PullAndUnpackSnapshotsOptions = {},
): Promise<PullAndUnpackSnapshotsResult> {
  return withSmallFilesThread((thread) =>
    pullAndUnpackSnapshotsWith(thread, image, store, snapshotsDir, options),
  );
}

/** {@link pullAndUnpackSnapshots} with the small files written by `thread` (see `Unpacker`). */
export async function pullAndUnpackSnapshotsWith(
  thread: SmallFilesThread,
  image: Image,
  store: Pick<ImageStore, 'pull' | 'blobPath'>,
  snapshotsDir: string,
  options: PullAndUnpackSnapshotsOptions = {},
): Promise<PullAndUnpackSnapshotsResult> {
  const diffIds = (await configOf(image, store)).rootfs.diff_ids;
  const { image: stored, unpacked } = await pullWhileUnpacking(image, store, options, (layers, signal) => {
    if (diffIds.length !== layers.length) {
      throw new LayerFormatError(
        `the manifest lists ${layers.length} layers but the config has ${diffIds.length} diff_ids`,
        undefined,
      );
    }
    return unpackSnapshotLayersWith(
      thread,
      layers.map((layer, i) => ({ ...layer, diffId: diffIds[i] as string })),
      snapshotsDir,
      { ...options, signal },
    );
  });
  return { image: stored, snapshots: unpacked };
}

/** The image config, from the store when it holds it (a stored image downloads nothing again). */
async function configOf(image: Image, store: Pick<ImageStore, 'blobPath'>): Promise<ImageConfig> {
  const { config } = await image.manifest();
  const bytes = await readFile(store.blobPath(config.digest)).catch(() => undefined);
  if (bytes && bytes.length === config.size && sha256Digest(bytes) === config.digest)
    return parseImageConfig(bytes);
  return image.config();
}

/**
 * Runs `store.pull` and `unpackLayers` side by side: a layer the unpack is already waiting for
 * when its download starts is unpacked from the download itself (finishing only once the store
 * verified and committed the blob); any other layer is unpacked from the store as soon as its blob
 * is committed there. If either side fails, the other is cancelled.
 */
async function pullWhileUnpacking<T>(
  image: Image,
  store: Pick<ImageStore, 'pull' | 'blobPath'>,
  options: { signal?: AbortSignal; pull?: Omit<PullOptions, 'signal'> },
  unpackLayers: (layers: UnpackLayer[], signal: AbortSignal) => Promise<T>,
): Promise<{ image: Image; unpacked: T }> {
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });

  const manifest = await image.manifest();
  const ready = new Map(manifest.layers.map((layer) => [layer.digest, deferred()]));
  // Unpacks waiting for a blob whose download has not started yet: the download is teed to them.
  const waiting = new Map<string, (stream: Readable) => void>();
  const teeing: Image = {
    reference: image.reference,
    digest: image.digest,
    mediaType: image.mediaType,
    ...(image.platform ? { platform: image.platform } : {}),
    ...(image.index ? { index: image.index } : {}),
    manifest: () => image.manifest(),
    rawManifest: () => image.rawManifest(),
    config: () => image.config(),
    rawConfig: () => image.rawConfig(),
    layers: async () => (await image.layers()).map((layer) => teeLayer(layer, waiting, ready)),
  };
  const pulled = store
    .pull(teeing, {
      ...options.pull,
      signal: controller.signal,
      onLayerCommitted: (digest) => {
        ready.get(digest)?.resolve();
        options.pull?.onLayerCommitted?.(digest);
      },
    })
    .then(
      (stored) => {
        // Every blob is in the store now (each was signalled already; this only makes sure).
        for (const wait of ready.values()) wait.resolve();
        return stored;
      },
      (error: unknown) => {
        for (const wait of ready.values()) wait.reject(error);
        controller.abort(error);
        throw error;
      },
    );

  const layers: UnpackLayer[] = manifest.layers.map((descriptor) => ({
    descriptor,
    // The store verified size and digest when it committed the blob.
    open: async (signal?: AbortSignal) => {
      const { digest } = descriptor;
      const committed = ready.get(digest)?.promise;
      // Whichever comes first: the download starting (teed to us) or the blob already committed.
      const teed = await new Promise<Readable | undefined>((resolve) => {
        waiting.set(digest, resolve);
        committed?.then(
          () => resolve(undefined),
          () => resolve(undefined),
        );
      });
      waiting.delete(digest);
      if (teed) return teed;
      await committed;
      return createReadStream(store.blobPath(descriptor.digest), { signal, highWaterMark: 256 * 1024 });
    },
  }));
  const unpacked = Promise.resolve()
    .then(() => unpackLayers(layers, controller.signal))
    .catch((error: unknown) => {
      controller.abort(error);
      throw error;
    });

  try {
    const [pulledResult, unpackedResult] = await Promise.allSettled([pulled, unpacked]);
    if (pulledResult.status === 'fulfilled' && unpackedResult.status === 'fulfilled') {
      return { image: pulledResult.value, unpacked: unpackedResult.value };
    }
    // The first failure aborted the other side; report it rather than the cancellation it caused.
    if (controller.signal.aborted) throw controller.signal.reason;
    throw pulledResult.status === 'rejected'
      ? pulledResult.reason
      : (unpackedResult as PromiseRejectedResult).reason;
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Wraps a layer so that a download from its start, of a blob an unpack is already waiting for, is
 * also fed to that unpack as it arrives, instead of the unpack reading the blob back once it is
 * committed. The unpack's copy ends only after the store verified and committed the blob (and
 * fails if the store could not), so no layer is ever finished on unverified bytes.
 */
function teeLayer(
  layer: Layer,
  waiting: Map<string, (stream: Readable) => void>,
  ready: Map<string, Deferred>,
): Layer {
  const digest = layer.descriptor.digest;
  const tee = (source: Readable): Readable => {
    const unpacker = waiting.get(digest);
    const committed = ready.get(digest)?.promise;
    if (!unpacker || !committed) return source;
    waiting.delete(digest);
    return splitStream(source, committed, unpacker);
  };
  return {
    descriptor: layer.descriptor,
    ...(layer.diffId ? { diffId: layer.diffId } : {}),
    open: async (signal) => tee(await layer.open(signal)),
    ...(layer.openFrom
      ? {
          openFrom: async (offset: number, signal?: AbortSignal) => {
            const source = await (layer.openFrom as NonNullable<Layer['openFrom']>)(offset, signal);
            return offset === 0 ? tee(source) : source;
          },
        }
      : {}),
  };
}

/**
 * Compressed bytes the unpack's copy of a teed download may hold ahead of the decompressor (the
 * store's copy holds a socket read, 64 KiB). With 64 KiB here too the download waited on every chunk
 * zlib inflated, and zlib then waited for the next one to arrive; 1 MiB keeps zlib fed (a 40 MiB
 * layer: the whole `iii worker add` ~70 ms faster). It counts against the pull's peak memory.
 */
const unpackReadAhead = 1024 * 1024;

/** Two copies of `source` at the pace of the slower reader; the second ends once `committed`. */
function splitStream(
  source: Readable,
  committed: Promise<void>,
  handOver: (stream: Readable) => void,
): Readable {
  const store = new PassThrough({ highWaterMark: 64 * 1024 });
  const unpack = new PassThrough({ highWaterMark: unpackReadAhead });
  handOver(unpack);
  let blocked = 0;
  const waitFor = (side: PassThrough) => {
    blocked += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      side.off('drain', release);
      side.off('close', release);
      blocked -= 1;
      if (blocked === 0) source.resume();
    };
    side.on('drain', release);
    // A reader that goes away must not hold the other one up.
    side.on('close', release);
  };
  source.on('data', (chunk: Buffer) => {
    for (const side of [store, unpack]) {
      if (!side.destroyed && !side.write(chunk)) waitFor(side);
    }
    if (blocked > 0) source.pause();
  });
  source.once('end', () => {
    store.end();
    committed.then(
      () => unpack.end(),
      (error: unknown) => unpack.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  });
  source.once('error', (error) => {
    store.destroy(error);
    unpack.destroy(error);
  });
  source.once('close', () => {
    if (!source.readableEnded) unpack.destroy(new Error('the download of the layer stopped'));
  });
  store.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return store;
}
