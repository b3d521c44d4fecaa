import type { Readable } from 'node:stream';

/** An OCI content descriptor: what a manifest says about a blob. */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<64 hex>` */
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
  artifactType?: string;
}

/** An OCI platform: operating system, architecture and optional variant. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** The runtime part of an image config (`config` in the OCI image config JSON). */
export interface ImageRuntimeConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown> | null;
  Volumes?: Record<string, unknown> | null;
  StopSignal?: string;
}

/** One entry of an image config's `history`: the step that made a layer (or none). */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The OCI image config JSON (also what Docker writes), validated by `imageConfigSchema`. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** A single-platform image manifest (OCI image manifest or Docker schema 2), normalized. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
  artifactType?: string;
}

/** A multi-platform index (OCI image index or Docker manifest list). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The exact bytes of a manifest as stored or served: its digest is computed over these. */
export interface RawManifest {
  mediaType: string;
  bytes: Buffer;
}

/**
 * One layer of an image. `descriptor.mediaType` tells the compression
 * (`...tar+gzip`, `...tar+zstd`, `...tar`, Docker `...rootfs.diff.tar.gzip`; see `layerCompression`).
 */
export interface Layer {
  descriptor: Descriptor;
  /** Digest of the uncompressed tar (`rootfs.diff_ids[i]` of the config), when known. */
  diffId?: string;
  /**
   * The compressed blob as a stream. Size and digest are verified while reading: a mismatch makes
   * the stream fail with `DigestMismatchError` (or `SizeMismatchError`) before it ends, so a consumer
   * that sees 'end' has read exactly the blob the manifest names.
   */
  open(signal?: AbortSignal): Promise<Readable>;
  /**
   * The raw compressed bytes from `offset` on, NOT verified: for resuming an interrupted download
   * (the store hashes the prefix it already has, then verifies the whole). Optional.
   */
  openFrom?(offset: number, signal?: AbortSignal): Promise<Readable>;
}

/**
 * One single-platform image, wherever it lives (registry, OCI layout, archive, store).
 * Every source yields this interface, so consumers never know where an image came from.
 */
export interface Image {
  /** The reference the image was opened by, as the user would write it. */
  reference: string;
  /** Digest of the manifest (`sha256:...`): the content address of this image. */
  digest: string;
  /** Media type of the manifest. */
  mediaType: string;
  /** The platform this manifest was selected for (from the index, else from the config once read). */
  platform?: Platform;
  /** The index this manifest was selected from, if the reference pointed at an index. */
  index?: { digest: string; mediaType: string; bytes: Buffer };
  manifest(): Promise<ImageManifest>;
  rawManifest(): Promise<RawManifest>;
  config(): Promise<ImageConfig>;
  /** The config blob's exact bytes (digest-verified). */
  rawConfig(): Promise<Buffer>;
  layers(): Promise<Layer[]>;
  /** Releases what the source holds open (archive file handles, temp files); idempotent. */
  close?(): Promise<void>;
}
