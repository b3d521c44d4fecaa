import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageSourceError } from '../errors.js';
import type { ResolveOptions } from '../image/manifest-image.js';
import type { Image } from '../image/types.js';
import { type ImageSourceRef, parseImageSourceRef } from '../reference/image-source-ref.js';
import { RegistryClient } from '../registry/registry-client.js';
import { openDockerArchiveFrom, openDockerArchiveImage } from './docker-archive.js';
import { openArchiveLayout, openOciArchiveImage } from './oci-archive.js';
import { openLayoutImage } from './oci-layout.js';
import { openRegistryImage } from './registry-source.js';
import { TarArchive } from './tar-archive.js';

/** Options of {@link openImage}: the platform to pick from an index, and the registry client to use. */
export interface OpenImageOptions extends ResolveOptions {
  /** Client for registry references (default: a new one with ~/.docker/config.json credentials). */
  client?: RegistryClient;
}

function expandHome(path: string): string {
  return path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

/**
 * Opens a plain path by looking at it: a directory with an `oci-layout` file is an OCI layout; a
 * file is a tar (maybe gzip'd) holding an OCI layout (`oci-archive`) or a `docker save` image.
 */
export async function openLocalPath(path: string, options: ResolveOptions = {}): Promise<Image> {
  const p = expandHome(path);
  const info = await stat(p).catch(() => undefined);
  if (!info) {
    throw new ImageSourceError(
      `${path} does not exist`,
      'Give the path of an OCI layout directory or an image archive.',
    );
  }
  if (info.isDirectory()) return openLayoutImage(p, { ...options, reference: path });
  const archive = await TarArchive.open(p, { signal: options.signal });
  try {
    if (archive.find('oci-layout') && archive.find('index.json'))
      return await openArchiveLayout(archive, path, options);
    if (archive.find('manifest.json')) return await openDockerArchiveFrom(archive, path, options);
    throw new ImageSourceError(
      `${path} is neither an OCI archive nor a docker save archive`,
      'Create one with `skopeo copy ... oci-archive:<file>` or `docker save -o <file> <image>`.',
    );
  } catch (err) {
    await archive.close();
    throw err;
  }
}

/**
 * Opens any image argument (see `parseImageSourceRef`) as an `Image`: registry references,
 * `oci-layout:`, `oci-archive:`, `docker-archive:` and plain paths. Local images may hold open
 * files: call `image.close?.()` when done.
 */
export async function openImage(
  input: string | ImageSourceRef,
  options: OpenImageOptions = {},
): Promise<Image> {
  const ref = typeof input === 'string' ? parseImageSourceRef(input) : input;
  switch (ref.transport) {
    case 'registry':
      return openRegistryImage(ref.reference, { ...options, client: options.client ?? new RegistryClient() });
    case 'oci-layout':
      return openLayoutImage(expandHome(ref.path), {
        ...options,
        reference: `oci-layout:${ref.path}`,
        ...(ref.tag ? { tag: ref.tag } : {}),
      });
    case 'oci-archive':
      return openOciArchiveImage(expandHome(ref.path), { ...options, ...(ref.tag ? { tag: ref.tag } : {}) });
    case 'docker-archive':
      return openDockerArchiveImage(expandHome(ref.path), {
        ...options,
        ...(ref.reference ? { reference: ref.reference } : {}),
      });
    case 'path':
      return openLocalPath(ref.path, options);
  }
}
