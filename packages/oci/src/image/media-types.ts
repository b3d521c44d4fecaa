/** Media types of the manifests, configs and layers this package reads and writes. */
export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerManifestSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** Index (multi-platform) media types. */
export const indexMediaTypes: readonly string[] = [MediaTypes.ociIndex, MediaTypes.dockerManifestList];

/** Single-image manifest media types. */
export const manifestMediaTypes: readonly string[] = [MediaTypes.ociManifest, MediaTypes.dockerManifest];

/** The Accept header for manifest requests: every format we can read, schema 1 deliberately absent. */
export const manifestAccept = [
  MediaTypes.ociIndex,
  MediaTypes.dockerManifestList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
].join(', ');

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * How a layer blob is compressed, from its media type. Unknown `+suffix` types are reported as
 * undefined so the caller can refuse them with a clear message.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType === 'application/vnd.docker.image.rootfs.diff.tar')
    return 'none';
  return undefined;
}
