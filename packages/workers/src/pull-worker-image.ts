import type { ImageSourceRef, ImageStore, Platform, RegistryClient } from '@iii/oci';
import { openWorkerImage } from './open-worker-image.js';
import { type InstalledImage, type InstallProgress, installImage } from './worker-image.js';

export interface PullWorkerImageOptions {
  client: RegistryClient;
  store: ImageStore;
  rootfsDir: string;
  progress: InstallProgress;
  /** The reference as it stands in config.yaml: shown to the user and recorded in the store's index. */
  image: string;
  platform?: Platform;
  signal?: AbortSignal;
}

/** Opens a worker's image, pulls what the store lacks, unpacks it, and always releases the source. */
export async function pullWorkerImage(
  source: ImageSourceRef,
  opts: PullWorkerImageOptions,
): Promise<InstalledImage> {
  const { client, store, platform, signal } = opts;
  const image = await openWorkerImage(source, {
    client,
    store,
    ...(platform ? { platform } : {}),
    ...(signal ? { signal } : {}),
  });
  opts.progress.message(`Pulling ${opts.image}`);
  try {
    return await installImage(image, {
      store,
      rootfsDir: opts.rootfsDir,
      progress: opts.progress,
      names: [opts.image],
      ...(signal ? { signal } : {}),
    });
  } finally {
    await image.close?.();
  }
}
