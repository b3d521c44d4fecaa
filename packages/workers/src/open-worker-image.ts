import {
  type BlobSource,
  type Image,
  type ImageSourceRef,
  type ImageStore,
  layoutBlobSource,
  openImage,
  type Platform,
  type RegistryClient,
  registryBlobSource,
  resolveImage,
} from '@iii/oci';

/** Registry client, store, platform and signal for {@link openWorkerImage}. */
export interface OpenWorkerImageOptions {
  client: RegistryClient;
  store: ImageStore;
  platform?: Platform;
  signal?: AbortSignal;
}

/**
 * Opens the image of a worker. For registry images the tag is always asked (one manifest request),
 * but the platform manifest an index points to is read from the local store when it is already
 * there, so re-adding a cached multi-platform image costs a single request.
 */
export async function openWorkerImage(source: ImageSourceRef, opts: OpenWorkerImageOptions): Promise<Image> {
  const { client, store, platform, signal } = opts;
  if (source.transport !== 'registry') {
    return openImage(source, { client, ...(platform ? { platform } : {}), ...(signal ? { signal } : {}) });
  }
  const ref = source.reference;
  const top = await client.getManifest(ref, signal ? { signal } : {});
  return resolveImage({
    reference: ref.toString(),
    raw: { mediaType: top.mediaType, bytes: top.bytes },
    digest: top.digest,
    blobs: storeFirst(store, registryBlobSource(client, ref)),
    options: { ...(platform ? { platform } : {}), ...(signal ? { signal } : {}) },
  });
}

/** Manifests from the store when present (verified by digest there too), everything else remote. */
function storeFirst(store: ImageStore, remote: BlobSource): BlobSource {
  const local = layoutBlobSource(store.root);
  return {
    open: (d, signal) => remote.open(d, signal),
    ...(remote.openFrom ? { openFrom: remote.openFrom.bind(remote) } : {}),
    async readManifest(d, signal) {
      if (await store.hasBlob(d)) return local.readManifest(d, signal);
      return remote.readManifest(d, signal);
    },
  };
}
