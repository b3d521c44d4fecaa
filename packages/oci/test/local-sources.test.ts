import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { requireTools, runCommand } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Image, ImageNotFoundError, ImageSourceError, ImageStore, openImage } from '../src/index.js';
import { buildLayoutImage } from './build-image.js';

let work: string;
let layout: string;

beforeAll(async () => {
  requireTools(['skopeo', 'umoci']);
  work = await mkdtemp(join(tmpdir(), 'oci-local-'));
  layout = join(work, 'layout');
  await buildLayoutImage(
    layout,
    'v1',
    [[{ path: 'app/a.txt', content: 'alpha' }], [{ path: 'app/b.bin', content: 50_000 }]],
    { env: ['WORKER=1'] },
  );
  await buildLayoutImage(layout, 'v2', [[{ path: 'x', content: 'x' }]]);
  await runCommand('skopeo', ['copy', `oci:${layout}:v1`, `oci-archive:${join(work, 'image.oci.tar')}:v1`]);
  await runCommand('skopeo', [
    'copy',
    `oci:${layout}:v1`,
    `docker-archive:${join(work, 'saved.tar')}:team/w:1`,
  ]);
  await pipeline(
    createReadStream(join(work, 'saved.tar')),
    createGzip(),
    createWriteStream(join(work, 'saved.tar.gz')),
  );
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** What a consumer sees of an image: its config and each layer's content digest. */
async function summary(image: Image) {
  const config = await image.config();
  const layers = [];
  for (const layer of await image.layers()) {
    const hash = createHash('sha256');
    for await (const c of await layer.open()) hash.update(c as Buffer);
    layers.push({ digest: `sha256:${hash.digest('hex')}`, diffId: layer.diffId });
  }
  return { env: config.config?.Env, diffIds: config.rootfs.diff_ids, layers };
}

async function withImage<T>(input: string, fn: (image: Image) => Promise<T>): Promise<T> {
  const image = await openImage(input);
  try {
    return await fn(image);
  } finally {
    await image.close?.();
  }
}

describe('local image sources', () => {
  it.each([
    ['oci-layout:%s/layout:v1'],
    ['oci-archive:%s/image.oci.tar'],
    ['oci-archive:%s/image.oci.tar:v1'],
    ['docker-archive:%s/saved.tar'],
    ['docker-archive:%s/saved.tar:team/w:1'],
    ['docker-archive:%s/saved.tar.gz'],
    ['%s/image.oci.tar'],
    ['%s/saved.tar'],
    ['%s/saved.tar.gz'],
  ])('opens %s with the same config and layers as the layout', async (pattern) => {
    const expected = await withImage(`oci-layout:${layout}:v1`, summary);
    const got = await withImage(pattern.replace('%s', work), summary);
    expect(got.env).toContain('WORKER=1');
    expect(got.diffIds).toEqual(expected.diffIds);
    // Layer blobs of a docker archive are uncompressed, so compare what each layer is (diff_id).
    expect(got.layers.map((l) => l.diffId)).toEqual(expected.layers.map((l) => l.diffId));
  });

  it('opens a layout directory given as a plain path when it names one image', async () => {
    const dir = join(work, 'single');
    await runCommand('skopeo', ['copy', `oci:${layout}:v2`, `oci:${dir}`]);
    const got = await withImage(dir, summary);
    expect(got.layers).toHaveLength(1);
  });

  it('asks for a tag when a layout holds several images', async () => {
    const err = await openImage(`oci-layout:${layout}`).catch((e) => e);
    expect(err).toBeInstanceOf(ImageSourceError);
    expect(err.hint).toContain(':v1');
  });

  it('reports a missing tag and a missing archive image', async () => {
    await expect(openImage(`oci-layout:${layout}:nope`)).rejects.toBeInstanceOf(ImageNotFoundError);
    await expect(openImage(`docker-archive:${work}/saved.tar:other:2`)).rejects.toBeInstanceOf(
      ImageNotFoundError,
    );
    await expect(openImage(`${work}/missing.tar`)).rejects.toThrow('does not exist');
  });

  it('stores a docker archive so that skopeo reads it back', async () => {
    const store = new ImageStore(join(work, 'store'));
    const stored = await withImage(`docker-archive:${work}/saved.tar`, (image) =>
      store.pull(image, { names: ['saved:1'] }),
    );
    const inspected = JSON.parse(await runCommand('skopeo', ['inspect', `oci:${store.root}:saved:1`]));
    expect(inspected.Digest).toBe(stored.digest);
    expect(inspected.Env).toContain('WORKER=1');
  });
});
