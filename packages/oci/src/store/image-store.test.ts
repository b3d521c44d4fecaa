import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../image/digest.js';
import { MediaTypes } from '../image/media-types.js';
import type { Image, ImageManifest } from '../image/types.js';
import { ImageStore } from './image-store.js';

/** An image whose layers are `blobs` (any bytes: the store does not read them as tar). */
function imageOf(blobs: Buffer[]): Image {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const layers = blobs.map((blob) => ({
    mediaType: MediaTypes.ociLayerGzip,
    digest: sha256Digest(blob),
    size: blob.length,
  }));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: sha256Digest(config), size: config.length },
    layers,
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  return {
    reference: 'example.test/img:1',
    digest: sha256Digest(raw),
    mediaType: MediaTypes.ociManifest,
    manifest: async () => manifest,
    rawManifest: async () => ({ mediaType: MediaTypes.ociManifest, bytes: raw }),
    config: async () => JSON.parse(config.toString()),
    rawConfig: async () => config,
    layers: async () =>
      layers.map((descriptor, i) => ({
        descriptor,
        open: async () => Readable.from([blobs[i] as Buffer]),
      })),
  };
}

describe('ImageStore.pull onLayerCommitted', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('signals each layer once, when its blob is in the store, whether downloaded or already there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-store-commit-'));
    dirs.push(dir);
    const store = new ImageStore(join(dir, 'store'));
    const a = Buffer.from('layer a');
    const b = Buffer.from('layer b');
    // The same blob twice in one manifest is one layer to commit.
    const image = imageOf([a, b, a]);
    const expected = [sha256Digest(a), sha256Digest(b)].sort();

    for (const run of ['download', 'stored']) {
      const signalled: string[] = [];
      await store.pull(image, {
        onLayerCommitted: (digest) => {
          expect(existsSync(store.blobPath(digest)), `${run}: ${digest}`).toBe(true);
          signalled.push(digest);
        },
      });
      expect(signalled.sort(), run).toEqual(expected);
    }
  });
});
