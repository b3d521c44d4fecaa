import {
  type Image,
  type ImageSourceRef,
  type ImageStore,
  type Platform,
  type RegistryClient,
  RegistryUnreachableError,
} from '@iii/oci';
import { WorkersError } from './errors.js';
import { openWorkerImage } from './open-worker-image.js';
import { type PullPolicy, storedImageOf } from './stored-image.js';
import { type InstalledImage, type InstallProgress, installImage } from './worker-image.js';

/** Options of {@link pullWorkerImage}: registry client, store, rootfs directory, progress, the image and its policy. */
export interface PullWorkerImageOptions {
  client: RegistryClient;
  store: ImageStore;
  rootfsDir: string;
  /** Unpack one snapshot per layer here (shared between images) instead of a merged rootfs. */
  snapshotsDir?: string;
  progress: InstallProgress;
  /** The reference as it stands in config.yaml: shown to the user and recorded in the store's index. */
  image: string;
  platform?: Platform;
  signal?: AbortSignal;
  /**
   * For registry images: `always` asks the registry and fails when it cannot be reached; `missing`
   * uses the stored image of the reference without asking, if there is one; `never` uses only the
   * store. Default: ask the registry, and use the stored image when it cannot be reached.
   */
  pull?: PullPolicy;
}

/** Where an installed image came from when the registry was not asked, or could not be. */
export interface FromStore {
  digest: string;
  /** When it entered the store (RFC 3339), when known. */
  pulledAt: string | undefined;
  /** Why the store: `--pull missing|never`, or the registry's error when it could not be reached. */
  reason: { policy: PullPolicy } | { unreachable: string };
}

/** A `--pull never` image that the store does not hold. */
export class ImageNotStoredError extends WorkersError {
  override readonly name = 'ImageNotStoredError';
  constructor(image: string) {
    super(
      'IMAGE_NOT_STORED',
      `${image} is not in the local image store, and --pull never forbids pulling it`,
      'Pull it with --pull missing (or without --pull) while the registry is reachable.',
    );
  }
}

/**
 * Opens a worker's image, pulls what the store lacks, unpacks it, and always releases the source.
 * A registry image the store already holds serves when the registry cannot be reached (see
 * {@link PullWorkerImageOptions.pull}); `fromStore` then says which one.
 */
export async function pullWorkerImage(
  source: ImageSourceRef,
  opts: PullWorkerImageOptions,
): Promise<InstalledImage & { fromStore?: FromStore }> {
  const { client, store, platform, signal } = opts;
  const stored = () =>
    source.transport === 'registry'
      ? storedImageOf(store, source.reference, opts.image, platform)
      : undefined;
  if (source.transport === 'registry' && (opts.pull === 'missing' || opts.pull === 'never')) {
    const found = await stored();
    if (found) {
      const installed = await install(found.image, opts, `Using ${opts.image} from the local store`);
      return {
        ...installed,
        fromStore: { digest: found.digest, pulledAt: found.pulledAt, reason: { policy: opts.pull } },
      };
    }
    if (opts.pull === 'never') throw new ImageNotStoredError(opts.image);
  }
  let image: Image;
  try {
    image = await openWorkerImage(source, {
      client,
      store,
      ...(platform ? { platform } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (!(err instanceof RegistryUnreachableError) || opts.pull === 'always') throw err;
    const found = await stored();
    if (!found) throw err;
    const installed = await install(found.image, opts, `Using ${opts.image} from the local store`);
    return {
      ...installed,
      fromStore: { digest: found.digest, pulledAt: found.pulledAt, reason: { unreachable: err.message } },
    };
  }
  return install(image, opts, `Pulling ${opts.image}`, image);
}

/** Installs `image`; `source` is released afterwards (an image read from the store holds nothing). */
async function install(
  image: Image,
  opts: PullWorkerImageOptions,
  message: string,
  source?: Image,
): Promise<InstalledImage> {
  opts.progress.message(message);
  try {
    return await installImage(image, {
      store: opts.store,
      rootfsDir: opts.rootfsDir,
      ...(opts.snapshotsDir ? { snapshotsDir: opts.snapshotsDir } : {}),
      progress: opts.progress,
      names: [opts.image],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } finally {
    await source?.close?.();
  }
}
