/**
 * @iii/oci: OCI images for the iii toolkit. Parse references, open an image from a registry, an OCI
 * layout or an archive, pull it into the content-addressed store, unpack it to a root filesystem, and
 * push it. Everything else in this package is internal.
 */

// --- Errors -------------------------------------------------------------------------------------

export {
  BlobTooShortError,
  DigestMismatchError,
  ImageNotFoundError,
  ImageSourceError,
  InvalidManifestError,
  InvalidReferenceError,
  InvalidSettingError,
  NoMatchingPlatformError,
  OciError,
  RegistryError,
  RegistryStalledError,
  RegistryUnreachableError,
  SizeMismatchError,
  TlsError,
  UnauthorizedError,
  UnknownHostError,
  UnsupportedManifestError,
} from './errors.js';

// --- Images: the one Image/Layer interface and its documents -------------------------------------

export { parseDigest, sha256Digest } from './image/digest.js';
export { type BlobSource, type ResolveOptions, resolveImage } from './image/manifest-image.js';
export { MediaTypes } from './image/media-types.js';
export { formatPlatform, hostPlatform, parsePlatform, platformMatches } from './image/platform.js';
export { type ParsedManifest, parseImageConfig, parseManifest } from './image/schemas.js';
export type {
  Descriptor,
  HistoryEntry,
  Image,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ImageRuntimeConfig,
  Layer,
  Platform,
  RawManifest,
} from './image/types.js';

// --- References ---------------------------------------------------------------------------------

export {
  formatImageSourceRef,
  type ImageSourceRef,
  parseImageSourceRef,
} from './reference/image-source-ref.js';
export { parseReference, Reference } from './reference/reference.js';

// --- Registries ---------------------------------------------------------------------------------

export {
  type Credential,
  CredentialHelperError,
  type CredentialProvider,
  type DockerConfigOptions,
  dockerConfigCredentials,
  staticCredentials,
} from './registry/credentials.js';
export {
  RegistryClient,
  type RegistryClientOptions,
  type RegistryRetryEvent,
  type RetryOptions,
} from './registry/registry-client.js';
export { STALL_TIMEOUT_ENV } from './registry/stall-timeout.js';

// --- Sources: where an image is read from -------------------------------------------------------

export { openDockerArchiveImage } from './sources/docker-archive.js';
export { openOciArchiveImage } from './sources/oci-archive.js';
export { layoutBlobSource, openLayoutImage } from './sources/oci-layout.js';
export { type OpenImageOptions, openImage } from './sources/open-image.js';
export { openRegistryImage, registryBlobSource } from './sources/registry-source.js';

// --- Store, pull and push -----------------------------------------------------------------------

export { type PushOptions, type PushProgress, pushImage, pushIndex } from './push/push-image.js';
export {
  ImageStore,
  type PartialDownload,
  type PullOptions,
  type PullProgress,
  type StoredBlob,
  type StoredEntry,
} from './store/image-store.js';

// --- Unpack: layers to a root filesystem --------------------------------------------------------

export {
  type ApplyOwners,
  abandonedUnpacks,
  chainIds,
  DiffIdMismatchError,
  defaultUnpackLimits,
  detectCompression,
  isSnapshotCommitted,
  LayerDigestMismatchError,
  LayerFormatError,
  listSnapshots,
  type OwnerRecord,
  type PullAndUnpackOptions,
  type PullAndUnpackResult,
  type PullAndUnpackSnapshotsOptions,
  type PullAndUnpackSnapshotsResult,
  pullAndUnpack,
  pullAndUnpackSnapshots,
  RootfsWriteError,
  removeSnapshot,
  rootfsPath,
  type Snapshot,
  type SnapshotFormat,
  SnapshotFormatError,
  type SnapshotLayer,
  type SnapshotRecord,
  snapshotDir,
  snapshotFormat,
  snapshotLayersOf,
  TargetExistsError,
  UnpackError,
  Unpacker,
  type UnpackImage,
  type UnpackImageResult,
  type UnpackLayer,
  UnpackLimitError,
  type UnpackLimitName,
  type UnpackLimits,
  type UnpackOptions,
  type UnpackProgress,
  type UnpackResult,
  type UnpackSnapshotsOptions,
  type UnpackSnapshotsResult,
  type UnpackWarning,
  UnsafeEntryError,
  type UnsafeEntryReason,
  UnsupportedEntryError,
  unpack,
  unpackImage,
  unpackSnapshots,
} from './unpack/index.js';
