import type { BlobSource, ResolveOptions } from '../image/manifest-image.js';
import { resolveImage, verifyManifestDigest } from '../image/manifest-image.js';
import type { Image } from '../image/types.js';
import type { Reference } from '../reference/reference.js';
import type { RegistryClient } from '../registry/registry-client.js';

/** The blobs of one registry repository, read through the client (verified, resumable). */
export function registryBlobSource(client: RegistryClient, ref: Reference): BlobSource {
  return {
    open: (d, signal) => client.openBlob(ref, d, signal),
    openFrom: (d, offset, signal) => client.openBlobFrom(ref, d, offset, signal),
    async readManifest(d, signal) {
      const m = await client.getManifest(ref, { identifier: d.digest, signal });
      verifyManifestDigest(m.bytes, d.digest);
      return { mediaType: m.mediaType || d.mediaType, bytes: m.bytes };
    },
  };
}

/**
 * Opens an image in a registry: one manifest GET (plus one for the platform's manifest when the
 * reference names an index). Blobs are only read when the image's layers are opened.
 */
export async function openRegistryImage(
  ref: Reference,
  options: ResolveOptions & { client: RegistryClient },
): Promise<Image> {
  const { client, signal } = options;
  const top = await client.getManifest(ref, { signal });
  return resolveImage({
    reference: ref.toString(),
    raw: { mediaType: top.mediaType, bytes: top.bytes },
    digest: top.digest,
    blobs: registryBlobSource(client, ref),
    options,
  });
}
