import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { UnpackImage } from '../../src/unpack/index.js';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

const hostArch = process.arch === 'x64' ? 'amd64' : process.arch;

/**
 * A deliberately small OCI layout reader for unpack tests, so they exercise only unpacking:
 * the tag's manifest, or from an index the linux/<host arch> entry.
 */
export async function layoutImage(layout: string, tag: string): Promise<UnpackImage> {
  const blob = (digest: string) => path.join(layout, 'blobs', ...digest.split(':'));
  const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));
  const index = await readJson(path.join(layout, 'index.json'));
  let entry: Descriptor | undefined = index.manifests.find(
    (m: Descriptor) => m.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  if (!entry) throw new Error(`no tag ${tag} in ${layout}`);
  let document = await readJson(blob(entry.digest));
  if (Array.isArray(document.manifests)) {
    entry = document.manifests.find(
      (m: Descriptor) => m.platform?.os === 'linux' && m.platform.architecture === hostArch,
    );
    if (!entry) throw new Error(`no linux/${hostArch} image in ${layout}:${tag}`);
    document = await readJson(blob(entry.digest));
  }
  const layers = (document.layers as Descriptor[]).map((descriptor) => ({
    descriptor,
    open: async (signal?: AbortSignal) => createReadStream(blob(descriptor.digest), { signal }),
  }));
  return { digest: entry.digest, layers: async () => layers };
}
