import { pipeline } from 'node:stream';
import { READ_ONCE } from '@iii/base';
import { ImageSourceError } from '../errors.js';
import { parseDigest } from '../image/digest.js';
import {
  type BlobSource,
  type ResolveOptions,
  resolveImage,
  verifyManifestDigest,
} from '../image/manifest-image.js';
import { DOCUMENT_LIMIT } from '../image/read-limited.js';
import { imageIndexSchema } from '../image/schemas.js';
import type { Descriptor, Image } from '../image/types.js';
import { verifyingStream } from '../image/verified-stream.js';
import { findLayoutEntry } from './oci-layout.js';
import { TarArchive } from './tar-archive.js';

/** The blobs of an OCI layout inside a tar archive, streamed from their place in the file. */
export function archiveLayoutBlobSource(archive: TarArchive): BlobSource {
  const entryFor = (d: Descriptor) => {
    const { algorithm, hex } = parseDigest(d.digest);
    return archive.get(`blobs/${algorithm}/${hex}`);
  };
  return {
    async open(d, signal) {
      const verify = verifyingStream(d);
      pipeline(archive.openEntry(entryFor(d), { signal }), verify, () => {});
      return verify;
    },
    async openFrom(d, offset, signal) {
      return archive.openEntry(entryFor(d), { signal, start: offset });
    },
    async readManifest(d) {
      const { algorithm, hex } = parseDigest(d.digest);
      const bytes = await archive.readEntry(`blobs/${algorithm}/${hex}`, DOCUMENT_LIMIT);
      verifyManifestDigest(bytes, d.digest);
      return { mediaType: d.mediaType, bytes };
    },
    close: () => archive.close(),
  };
}

/** Opens an image from an already indexed archive holding an OCI layout. */
export async function openArchiveLayout(
  archive: TarArchive,
  where: string,
  options: ResolveOptions & { tag?: string },
): Promise<Image> {
  let json: unknown;
  try {
    json = JSON.parse((await archive.readEntry('index.json', DOCUMENT_LIMIT)).toString('utf8'));
  } catch (err) {
    throw new ImageSourceError(
      `${where}: index.json is missing or not JSON`,
      'Recreate the archive with skopeo.',
      {
        cause: err,
      },
    );
  }
  const parsed = imageIndexSchema.safeParse(json, READ_ONCE);
  if (!parsed.success)
    throw new ImageSourceError(`${where}: index.json is malformed`, 'Recreate the archive.');
  const index = {
    ...parsed.data,
    mediaType: parsed.data.mediaType ?? 'application/vnd.oci.image.index.v1+json',
  };
  const entry = findLayoutEntry(index, where, options.tag);
  const blobs = archiveLayoutBlobSource(archive);
  const raw = await blobs.readManifest(entry, options.signal);
  return resolveImage({
    reference: options.tag ? `${where}:${options.tag}` : where,
    raw: { mediaType: entry.mediaType, bytes: raw.bytes },
    digest: entry.digest,
    blobs,
    options,
  });
}

/**
 * Opens `oci-archive:<file>[:tag]`: a tar of an OCI layout (`skopeo copy ... oci-archive:`,
 * `buildah push ... oci-archive:`). Call `image.close()` when done.
 */
export async function openOciArchiveImage(
  file: string,
  options: ResolveOptions & { tag?: string } = {},
): Promise<Image> {
  const archive = await TarArchive.open(file, { signal: options.signal });
  try {
    return await openArchiveLayout(archive, `oci-archive:${file}`, options);
  } catch (err) {
    await archive.close();
    throw err;
  }
}
