import { createReadStream } from 'node:fs';
import type { Image } from '../image/types.js';
import type { ImageStore, PullOptions } from '../store/image-store.js';
import type { UnpackLayer } from './layer-source.js';
import type { UnpackOptions } from './unpack.js';
import { type UnpackImageResult, unpackImage } from './unpack-image.js';

export interface PullAndUnpackOptions extends UnpackOptions {
  /** Passed to `store.pull` (progress of the downloads, names, concurrency). */
  readonly pull?: Omit<PullOptions, 'signal'>;
}

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
 * Pulls an image into the store and unpacks it into the rootfs cache at the same time: layer N is
 * unpacked from the store as soon as its blob is committed there (verified), while later layers
 * are still downloading. So the whole takes about as long as the slower of the two, not their sum.
 * If either side fails, the other is cancelled; a failed unpack leaves nothing in the rootfs cache.
 */
export async function pullAndUnpack(
  image: Image,
  store: Pick<ImageStore, 'pull' | 'blobPath'>,
  rootfsCacheDir: string,
  options: PullAndUnpackOptions = {},
): Promise<PullAndUnpackResult> {
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });

  const manifest = await image.manifest();
  const ready = new Map(manifest.layers.map((layer) => [layer.digest, deferred()]));
  const pulled = store
    .pull(image, {
      ...options.pull,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.kind === 'layer' && (event.status === 'done' || event.status === 'exists')) {
          ready.get(event.digest)?.resolve();
        }
        options.pull?.onProgress?.(event);
      },
    })
    .then(
      (stored) => {
        // Every blob is in the store now, also ones the pull reported no event for.
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
      await ready.get(descriptor.digest)?.promise;
      return createReadStream(store.blobPath(descriptor.digest), { signal, highWaterMark: 256 * 1024 });
    },
  }));
  const unpacked = unpackImage({ digest: image.digest, layers: async () => layers }, rootfsCacheDir, {
    ...options,
    signal: controller.signal,
  }).catch((error: unknown) => {
    controller.abort(error);
    throw error;
  });

  try {
    const [pulledResult, unpackedResult] = await Promise.allSettled([pulled, unpacked]);
    if (pulledResult.status === 'fulfilled' && unpackedResult.status === 'fulfilled') {
      return { image: pulledResult.value, rootfs: unpackedResult.value };
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
