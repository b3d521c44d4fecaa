import type { Readable } from 'node:stream';
import { DigestMismatchError, InvalidManifestError } from '../errors.js';
import { sha256Digest } from './digest.js';
import { hostPlatform, selectManifest } from './platform.js';
import { DOCUMENT_LIMIT, readLimited } from './read-limited.js';
import { parseImageConfig, parseManifest } from './schemas.js';
import type { Descriptor, Image, ImageConfig, ImageManifest, Layer, Platform, RawManifest } from './types.js';

/** Where a manifest's blobs are read from: a registry repository, a layout directory, an archive. */
export interface BlobSource {
  /** The blob, verified against the descriptor while reading. */
  open(descriptor: Descriptor, signal?: AbortSignal): Promise<Readable>;
  /** Raw bytes from an offset, unverified (for resumable downloads). */
  openFrom?(descriptor: Descriptor, offset: number, signal?: AbortSignal): Promise<Readable>;
  /** Manifest bytes for a descriptor (nested index/manifest), verified. */
  readManifest(descriptor: Descriptor, signal?: AbortSignal): Promise<RawManifest>;
  close?(): Promise<void>;
}

/** Options of {@link resolveImage}: the wanted platform and an abort signal. */
export interface ResolveOptions {
  /** Wanted platform when the reference points at an index; default the host's (linux/<arch>). */
  platform?: Platform;
  signal?: AbortSignal;
}

/** An `Image` over a parsed single-platform manifest and a blob source. */
export function manifestImage(args: {
  reference: string;
  raw: RawManifest;
  digest: string;
  manifest: ImageManifest;
  blobs: BlobSource;
  platform?: Platform;
  index?: Image['index'];
}): Image {
  const { manifest, blobs } = args;
  let rawConfig: Promise<Buffer> | undefined;
  let config: Promise<ImageConfig> | undefined;
  const readRawConfig = () => {
    rawConfig ??= blobs
      .open(manifest.config)
      .then((s) => readLimited(s, DOCUMENT_LIMIT, 'image config'))
      .catch((err) => {
        rawConfig = undefined;
        throw err;
      });
    return rawConfig;
  };
  const readConfig = () => {
    config ??= readRawConfig().then(parseImageConfig);
    return config;
  };
  return {
    reference: args.reference,
    digest: args.digest,
    mediaType: manifest.mediaType,
    ...(args.platform ? { platform: args.platform } : {}),
    ...(args.index ? { index: args.index } : {}),
    manifest: async () => manifest,
    rawManifest: async () => args.raw,
    rawConfig: readRawConfig,
    config: readConfig,
    async layers(): Promise<Layer[]> {
      const cfg = await readConfig();
      const diffIds = cfg.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) {
        throw new InvalidManifestError(
          'image',
          `manifest lists ${manifest.layers.length} layers but the config has ${diffIds.length} diff_ids`,
        );
      }
      return manifest.layers.map((descriptor, i) => ({
        descriptor,
        diffId: diffIds[i],
        open: (signal?: AbortSignal) => blobs.open(descriptor, signal),
        ...(blobs.openFrom
          ? {
              openFrom: (offset: number, signal?: AbortSignal) => blobs.openFrom!(descriptor, offset, signal),
            }
          : {}),
      }));
    },
    ...(blobs.close ? { close: () => blobs.close!() } : {}),
  };
}

/**
 * Turns the manifest a reference points at into one `Image`: an index is resolved to the entry for
 * the wanted platform (fetching and verifying it), a single manifest is used as is.
 */
export async function resolveImage(args: {
  reference: string;
  raw: RawManifest;
  digest: string;
  blobs: BlobSource;
  options?: ResolveOptions;
}): Promise<Image> {
  const parsed = parseManifest(args.raw.bytes, args.raw.mediaType);
  if (parsed.kind === 'manifest') {
    return manifestImage({
      reference: args.reference,
      raw: { mediaType: parsed.manifest.mediaType, bytes: args.raw.bytes },
      digest: args.digest,
      manifest: parsed.manifest,
      blobs: args.blobs,
    });
  }
  const wanted = args.options?.platform ?? { ...hostPlatform(), os: 'linux' };
  const signal = args.options?.signal;
  const descriptor = await selectManifest(parsed.index, wanted, args.reference, async (d) => {
    const raw = await args.blobs.readManifest(d, signal);
    const nested = parseManifest(raw.bytes, raw.mediaType);
    if (nested.kind !== 'index') throw new InvalidManifestError('image index', `${d.digest} is not an index`);
    return nested.index;
  });
  const raw = await args.blobs.readManifest(descriptor, signal);
  const child = parseManifest(raw.bytes, raw.mediaType ?? descriptor.mediaType);
  if (child.kind !== 'manifest') {
    throw new InvalidManifestError('image index', `entry ${descriptor.digest} is not an image manifest`);
  }
  return manifestImage({
    reference: args.reference,
    raw: { mediaType: child.manifest.mediaType, bytes: raw.bytes },
    digest: descriptor.digest,
    manifest: child.manifest,
    blobs: args.blobs,
    ...(descriptor.platform ? { platform: descriptor.platform } : {}),
    index: { digest: args.digest, mediaType: parsed.index.mediaType, bytes: args.raw.bytes },
  });
}

/** Checks manifest bytes against the digest that named them. */
export function verifyManifestDigest(bytes: Buffer, digest: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== digest) throw new DigestMismatchError(digest, actual, 'manifest');
}
