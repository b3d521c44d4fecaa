// Plain JavaScript on the built @iii/oci, so that pull-once.mjs can run it without a TypeScript
// loader, which would inflate the peak RSS it measures; types in our-pull.d.mts.
import { join } from 'node:path';
import { ImageStore, openRegistryImage, parseReference, pullAndUnpack, RegistryClient } from '@iii/oci';

/**
 * What `iii worker add` does for an image, through the public API of @iii/oci: open the image in
 * the registry, pull it into a store (verified, parallel layers) while unpacking it into the rootfs
 * cache.
 */
export async function ourPull(reference, workDir, signal) {
  const client = new RegistryClient();
  try {
    const image = await openRegistryImage(parseReference(reference), {
      client,
      ...(signal ? { signal } : {}),
    });
    const store = new ImageStore(join(workDir, 'store'));
    const { rootfs } = await pullAndUnpack(image, store, join(workDir, 'rootfs'), signal ? { signal } : {});
    return rootfs.rootfs;
  } finally {
    client.close();
  }
}
