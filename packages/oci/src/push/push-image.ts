import { Readable } from 'node:stream';
import { RegistryUnreachableError } from '../errors.js';
import { sha256Digest } from '../image/digest.js';
import { MediaTypes } from '../image/media-types.js';
import type { Descriptor, Image, ImageIndex, Platform } from '../image/types.js';
import type { Reference } from '../reference/reference.js';
import type { RegistryClient } from '../registry/registry-client.js';
import { boundedParallel } from '../store/bounded-parallel.js';

/** Progress of one blob or the manifest during {@link pushImage}: bytes done of total, and its status. */
export interface PushProgress {
  digest: string;
  kind: 'layer' | 'config' | 'manifest';
  done: number;
  total: number;
  status: 'exists' | 'mounted' | 'uploading' | 'done';
}

/** Options of {@link pushImage}: the registry client, progress, blobs to mount, chunked upload. */
export interface PushOptions {
  client: RegistryClient;
  signal?: AbortSignal;
  onProgress?: (event: PushProgress) => void;
  /** Repositories of the same registry that may hold the blobs already: they are mounted, not uploaded. */
  mountFrom?: Reference[];
  /** Upload in PATCH chunks of this many bytes (each chunk held in memory); default one streamed PUT. */
  chunkSize?: number;
  /** Blobs uploaded at once (default 4). */
  concurrency?: number;
  /** Tries per blob when the connection fails mid-upload (default 3). */
  attempts?: number;
}

async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const c of stream) {
    let chunk = c as Buffer;
    while (chunk.length > 0) {
      const take = Math.min(size - length, chunk.length);
      parts.push(chunk.subarray(0, take));
      length += take;
      chunk = chunk.subarray(take);
      if (length === size) {
        yield Buffer.concat(parts);
        parts = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}

async function uploadBlob(
  ref: Reference,
  descriptor: Descriptor,
  kind: PushProgress['kind'],
  open: (signal?: AbortSignal) => Promise<Readable>,
  options: PushOptions,
  signal: AbortSignal,
): Promise<void> {
  const { client, onProgress } = options;
  const report = (status: PushProgress['status'], done: number) =>
    onProgress?.({ digest: descriptor.digest, kind, done, total: descriptor.size, status });
  const scopes = client.pushScopes(ref);
  if ((await client.blobExists(ref, descriptor.digest, { signal, scopes })) !== undefined) {
    report('exists', descriptor.size);
    return;
  }
  let location: string | undefined;
  for (const from of options.mountFrom ?? []) {
    if (from.registry !== ref.registry || from.repository === ref.repository) continue;
    const started = await client.startUpload(ref, { mount: { digest: descriptor.digest, from }, signal });
    if (started.mounted) {
      report('mounted', descriptor.size);
      return;
    }
    // A refused mount still opened an upload session: use it.
    location = started.location;
    break;
  }
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!location) {
        const started = await client.startUpload(ref, { signal });
        if (started.mounted) return;
        location = started.location;
      }
      report('uploading', 0);
      const body = await open(signal);
      if (options.chunkSize) {
        let offset = 0;
        for await (const chunk of chunksOf(body, options.chunkSize)) {
          location = await client.uploadChunk(ref, location, chunk, offset, signal);
          offset += chunk.length;
          report('uploading', offset);
        }
        await client.finishUpload(ref, location, descriptor.digest, undefined, signal);
      } else {
        await client.finishUpload(
          ref,
          location,
          descriptor.digest,
          { data: body, size: descriptor.size },
          signal,
        );
      }
      report('done', descriptor.size);
      return;
    } catch (err) {
      location = undefined;
      if (attempt >= attempts || signal.aborted || !(err instanceof RegistryUnreachableError)) throw err;
    }
  }
}

/**
 * Pushes one image (from a registry, the store or any local source) to `ref`: blobs that the
 * repository has are skipped, blobs in `mountFrom` repositories are mounted, the rest uploaded
 * (streamed, or chunked); then the manifest is PUT under the tag (or digest). Returns the digest.
 */
export async function pushImage(
  image: Image,
  ref: Reference,
  options: PushOptions,
): Promise<{ digest: string }> {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const manifest = await image.manifest();
  const raw = await image.rawManifest();
  const layers = await image.layers();
  const unique = layers.filter(
    (l, i) => layers.findIndex((x) => x.descriptor.digest === l.descriptor.digest) === i,
  );
  await boundedParallel(
    unique,
    options.concurrency ?? 4,
    (layer, _i, inner) => uploadBlob(ref, layer.descriptor, 'layer', (s) => layer.open(s), options, inner),
    signal,
  );
  const configBytes = await image.rawConfig();
  await uploadBlob(ref, manifest.config, 'config', async () => Readable.from([configBytes]), options, signal);
  const digest = sha256Digest(raw.bytes);
  await options.client.putManifest(ref, ref.tag ?? digest, raw, signal);
  options.onProgress?.({
    digest,
    kind: 'manifest',
    done: raw.bytes.length,
    total: raw.bytes.length,
    status: 'done',
  });
  return { digest };
}

/**
 * Pushes several single-platform images and an OCI index over them under `ref`'s tag: each image
 * is pushed by digest first, so the index never names a missing manifest.
 */
export async function pushIndex(
  images: Image[],
  ref: Reference,
  options: PushOptions & { annotations?: Record<string, string> },
): Promise<{ digest: string }> {
  const manifests: Descriptor[] = [];
  for (const image of images) {
    const raw = await image.rawManifest();
    const { digest } = await pushImage(image, ref.with({}), options);
    let platform: Platform | undefined = image.platform;
    if (!platform) {
      const c = await image.config();
      platform = { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) };
    }
    manifests.push({ mediaType: raw.mediaType, digest, size: raw.bytes.length, platform });
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  const digest = sha256Digest(bytes);
  await options.client.putManifest(
    ref,
    ref.tag ?? digest,
    { mediaType: MediaTypes.ociIndex, bytes },
    options.signal,
  );
  return { digest };
}
