import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, SizeMismatchError } from '../errors.js';
import { sha256Digest } from '../image/digest.js';
import { MediaTypes } from '../image/media-types.js';
import type { Image, ImageManifest } from '../image/types.js';
import { ImageStore } from '../store/image-store.js';
import { pullAndUnpack } from './pull-and-unpack.js';

async function gzipTar(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/**
 * A one-layer image whose layer source serves `served` for a blob described as `blob`: a source
 * (like a registry) whose unverified `openFrom` bytes may not be what the manifest names.
 */
function imageOf(blob: Buffer, served: Buffer): Image {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const layer = { mediaType: MediaTypes.ociLayerGzip, digest: sha256Digest(blob), size: blob.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: sha256Digest(config), size: config.length },
    layers: [layer],
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  // Small chunks, so the download and the unpack really run side by side.
  const stream = () =>
    Readable.from(
      Array.from({ length: Math.ceil(served.length / 64) }, (_, i) => served.subarray(i * 64, i * 64 + 64)),
    );
  return {
    reference: 'example.test/img:1',
    digest: sha256Digest(raw),
    mediaType: MediaTypes.ociManifest,
    manifest: async () => manifest,
    rawManifest: async () => ({ mediaType: MediaTypes.ociManifest, bytes: raw }),
    config: async () => JSON.parse(config.toString()),
    rawConfig: async () => config,
    layers: async () => [
      {
        descriptor: layer,
        open: async () => stream(),
        openFrom: async (offset: number) => Readable.from([served.subarray(offset)]),
      },
    ],
  };
}

describe('pullAndUnpack with the download fed to the unpack as it arrives', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oci-pull-unpack-'));
    dirs.push(dir);
    return dir;
  };

  it('unpacks the layer and commits the same blob to the store', async () => {
    const dir = await tempDir();
    const blob = await gzipTar({ 'hello.txt': 'hello\n', 'etc/motd': 'welcome\n' });
    const store = new ImageStore(join(dir, 'store'));
    const { rootfs } = await pullAndUnpack(imageOf(blob, blob), store, join(dir, 'rootfs'));
    expect(await readFile(join(rootfs.rootfs, 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(await readFile(join(rootfs.rootfs, 'etc/motd'), 'utf8')).toBe('welcome\n');
    expect(await readFile(store.blobPath(sha256Digest(blob)))).toEqual(blob);
  });

  it('fails and leaves no rootfs when the downloaded layer is a valid tar that is not the blob the manifest names', async () => {
    const dir = await tempDir();
    const blob = await gzipTar({ 'hello.txt': 'hello\n' });
    const tampered = await gzipTar({ 'hello.txt': 'evil!\n' });
    const store = new ImageStore(join(dir, 'store'));
    const failure = await pullAndUnpack(imageOf(blob, tampered), store, join(dir, 'rootfs')).catch(
      (error: unknown) => error,
    );
    expect(failure instanceof DigestMismatchError || failure instanceof SizeMismatchError).toBe(true);
    expect(await readdir(join(dir, 'rootfs')).catch(() => [])).toEqual([]);
    expect(await store.hasBlob({ digest: sha256Digest(blob), size: blob.length })).toBe(false);
  });
});
