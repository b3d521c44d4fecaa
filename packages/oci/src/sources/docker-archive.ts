import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream';
import { READ_ONCE } from '@iii/base';
import * as z from 'zod';
import { ImageNotFoundError, ImageSourceError } from '../errors.js';
import { sha256Digest } from '../image/digest.js';
import { type BlobSource, manifestImage, type ResolveOptions } from '../image/manifest-image.js';
import { MediaTypes } from '../image/media-types.js';
import { DOCUMENT_LIMIT } from '../image/read-limited.js';
import { parseImageConfig } from '../image/schemas.js';
import type { Descriptor, Image, ImageManifest } from '../image/types.js';
import { verifyingStream } from '../image/verified-stream.js';
import { parseReference } from '../reference/reference.js';
import { TarArchive, type TarEntry } from './tar-archive.js';

const dockerManifestSchema = z.array(
  z.object({
    Config: z.string(),
    RepoTags: z.array(z.string()).nullable().optional(),
    Layers: z.array(z.string()),
  }),
);

function sameReference(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return parseReference(a).toString() === parseReference(b).toString();
  } catch {
    return false;
  }
}

async function hashEntry(archive: TarArchive, entry: TarEntry, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of archive.openEntry(entry, { signal })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Reads a `docker save` archive (manifest.json + config + layer tars) as an OCI image: the layers
 * become OCI layer descriptors (uncompressed ones are addressed by their diff_id, which is their
 * digest), and an OCI manifest is synthesized over them.
 */
export async function openDockerArchiveFrom(
  archive: TarArchive,
  where: string,
  options: ResolveOptions & { reference?: string } = {},
): Promise<Image> {
  let json: unknown;
  try {
    json = JSON.parse((await archive.readEntry('manifest.json', DOCUMENT_LIMIT)).toString('utf8'));
  } catch (err) {
    throw new ImageSourceError(
      `${where}: manifest.json is missing or not JSON`,
      'Pass the output of `docker save`.',
      {
        cause: err,
      },
    );
  }
  const parsed = dockerManifestSchema.safeParse(json, READ_ONCE);
  if (!parsed.success || parsed.data.length === 0) {
    throw new ImageSourceError(`${where}: manifest.json is malformed`, 'Pass the output of `docker save`.');
  }
  const images = parsed.data;
  let chosen = images[0]!;
  if (options.reference) {
    const found = images.find((i) => (i.RepoTags ?? []).some((t) => sameReference(t, options.reference!)));
    if (!found) throw new ImageNotFoundError(`${where}:${options.reference}`, 'no such image in the archive');
    chosen = found;
  } else if (images.length > 1) {
    const tags = images.flatMap((i) => i.RepoTags ?? []);
    throw new ImageSourceError(
      `${where} holds ${images.length} images; say which one`,
      `Add the image name: ${tags.map((t) => `${where}:${t}`).join(', ')}`,
    );
  }

  const configBytes = await archive.readEntry(chosen.Config, DOCUMENT_LIMIT);
  const config = parseImageConfig(configBytes);
  if (config.rootfs.diff_ids.length !== chosen.Layers.length) {
    throw new ImageSourceError(
      `${where}: ${chosen.Layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in the config`,
      'The archive is inconsistent; export it again.',
    );
  }
  const byDigest = new Map<string, TarEntry>();
  const layers: Descriptor[] = [];
  for (const [i, name] of chosen.Layers.entries()) {
    const entry = archive.get(name);
    const magic = await archive.peek(entry, 4);
    let mediaType: string = MediaTypes.ociLayer;
    let digest = config.rootfs.diff_ids[i]!;
    if (magic[0] === 0x1f && magic[1] === 0x8b) mediaType = MediaTypes.ociLayerGzip;
    else if (magic.readUInt32LE(0) === 0xfd2fb528) mediaType = MediaTypes.ociLayerZstd;
    // A compressed layer has no digest on record: compute it once (streaming).
    if (mediaType !== MediaTypes.ociLayer) digest = await hashEntry(archive, entry, options.signal);
    byDigest.set(digest, entry);
    layers.push({ mediaType, digest, size: entry.size });
  }
  const configDescriptor = {
    mediaType: MediaTypes.ociConfig,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  byDigest.set(configDescriptor.digest, archive.get(chosen.Config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: configDescriptor,
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const blobs: BlobSource = {
    async open(d, signal) {
      const entry = byDigest.get(d.digest);
      if (!entry) throw new ImageSourceError(`${where}: no blob ${d.digest}`, 'The archive is incomplete.');
      const verify = verifyingStream(d);
      pipeline(archive.openEntry(entry, { signal }), verify, () => {});
      return verify;
    },
    async openFrom(d, offset, signal) {
      const entry = byDigest.get(d.digest);
      if (!entry) throw new ImageSourceError(`${where}: no blob ${d.digest}`, 'The archive is incomplete.');
      return archive.openEntry(entry, { signal, start: offset });
    },
    async readManifest(d) {
      throw new ImageSourceError(
        `${where}: no manifest ${d.digest}`,
        'docker-archive holds single images only.',
      );
    },
    close: () => archive.close(),
  };
  return manifestImage({
    reference: options.reference ? `${where}:${options.reference}` : where,
    raw: { mediaType: MediaTypes.ociManifest, bytes },
    digest: sha256Digest(bytes),
    manifest,
    blobs,
    platform: {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    },
  });
}

/**
 * Opens `docker-archive:<file>[:ref]` (`docker save` output, possibly gzip-compressed). When the
 * archive is also an OCI layout (Docker 25+), its manifest.json still names everything. Call `image.close()`.
 */
export async function openDockerArchiveImage(
  file: string,
  options: ResolveOptions & { reference?: string } = {},
): Promise<Image> {
  const archive = await TarArchive.open(file, { signal: options.signal });
  try {
    return await openDockerArchiveFrom(archive, `docker-archive:${file}`, options);
  } catch (err) {
    await archive.close();
    throw err;
  }
}
