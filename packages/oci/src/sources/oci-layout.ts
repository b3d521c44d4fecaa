import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { READ_ONCE } from '@iii/base';
import * as z from 'zod';
import { ImageNotFoundError, ImageSourceError } from '../errors.js';
import { parseDigest } from '../image/digest.js';
import {
  type BlobSource,
  type ResolveOptions,
  resolveImage,
  verifyManifestDigest,
} from '../image/manifest-image.js';
import { imageIndexSchema } from '../image/schemas.js';
import type { Descriptor, Image, ImageIndex } from '../image/types.js';
import { verifyingStream } from '../image/verified-stream.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** Where a blob lives in an OCI layout; the digest is validated first, so it can never escape `dir`. */
export function layoutBlobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, 'blobs', algorithm, hex);
}

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** The blobs of an OCI layout directory, verified as they are read. */
export function layoutBlobSource(dir: string): BlobSource {
  return {
    async open(d: Descriptor, signal?: AbortSignal) {
      const path = layoutBlobPath(dir, d.digest);
      await stat(path).catch((err) => {
        if (missing(err)) {
          throw new ImageSourceError(
            `blob ${d.digest} is missing from ${dir}`,
            'The image layout is incomplete; copy the image again.',
          );
        }
        throw err;
      });
      const verify = verifyingStream(d);
      pipeline(createReadStream(path, { signal, highWaterMark: 1 << 20 }), verify, () => {});
      return verify;
    },
    async openFrom(d: Descriptor, offset: number, signal?: AbortSignal) {
      return createReadStream(layoutBlobPath(dir, d.digest), {
        start: offset,
        signal,
        highWaterMark: 1 << 20,
      });
    },
    async readManifest(d: Descriptor) {
      const bytes = await readFile(layoutBlobPath(dir, d.digest));
      verifyManifestDigest(bytes, d.digest);
      return { mediaType: d.mediaType, bytes };
    },
  };
}

const layoutFileSchema = z.object({ imageLayoutVersion: z.string() });

/** Reads and validates `index.json` of an OCI layout (and checks its `oci-layout` marker). */
export async function readLayoutIndex(dir: string): Promise<ImageIndex> {
  let marker: string;
  try {
    marker = await readFile(join(dir, 'oci-layout'), 'utf8');
  } catch (err) {
    if (missing(err)) {
      throw new ImageSourceError(
        `${dir} is not an OCI image layout (no oci-layout file)`,
        'Point at a directory written by `skopeo copy ... oci:<dir>`, `buildah push ... oci:<dir>` or `umoci`.',
      );
    }
    throw err;
  }
  if (!layoutFileSchema.safeParse(JSON.parse(marker), READ_ONCE).success) {
    throw new ImageSourceError(`${dir}/oci-layout is malformed`, 'Recreate the layout with skopeo or umoci.');
  }
  const r = imageIndexSchema.safeParse(
    JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')),
    READ_ONCE,
  );
  if (!r.success) {
    throw new ImageSourceError(`${dir}/index.json is malformed`, 'Recreate the layout with skopeo or umoci.');
  }
  return { ...r.data, mediaType: r.data.mediaType ?? 'application/vnd.oci.image.index.v1+json' };
}

/** The index.json entry for `tag` (or the only entry when no tag is given). */
export function findLayoutEntry(index: ImageIndex, where: string, tag?: string): Descriptor {
  if (tag) {
    const entry = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
    if (!entry) throw new ImageNotFoundError(`${where}:${tag}`, 'no such tag in the layout');
    return entry;
  }
  if (index.manifests.length === 1) return index.manifests[0]!;
  const tags = index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter(Boolean);
  throw new ImageSourceError(
    `${where} holds ${index.manifests.length} images; say which one`,
    `Add a tag: ${tags.length ? tags.map((t) => `${where}:${t}`).join(', ') : `${where}:<tag>`}`,
  );
}

/** Opens `oci-layout:<dir>[:tag]`: the entry's manifest, or the platform's entry of its index. */
export async function openLayoutImage(
  dir: string,
  options: ResolveOptions & { tag?: string; reference?: string; blobs?: BlobSource } = {},
): Promise<Image> {
  const index = await readLayoutIndex(dir);
  const where = options.reference ?? `oci-layout:${dir}`;
  const entry = findLayoutEntry(index, where, options.tag);
  const blobs = options.blobs ?? layoutBlobSource(dir);
  const raw = await blobs.readManifest(entry, options.signal);
  return resolveImage({
    reference: options.tag ? `${where}:${options.tag}` : where,
    raw: { mediaType: entry.mediaType, bytes: raw.bytes },
    digest: entry.digest,
    blobs,
    options,
  });
}
