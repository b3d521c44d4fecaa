import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { putSmallImage } from '@iii/tools/fixtures';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaTypes } from '../image/media-types.js';
import { REF_NAME_ANNOTATION } from '../sources/oci-layout.js';
import { ImageStore } from './image-store.js';

let dir: string;
let store: ImageStore;

/** Stores a small image (config, layers, manifest) and names it in index.json; returns its manifest digest. */
async function image(tag: string, layers: string[]): Promise<string> {
  const m = await putSmallImage(store, tag, layers);
  await store.updateIndex((manifests) => [
    ...manifests,
    {
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      annotations: { [REF_NAME_ANNOTATION]: tag },
    },
  ]);
  return m.digest;
}

const blobFiles = () => readdir(join(dir, 'store', 'blobs', 'sha256'));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-store-gc-'));
  store = new ImageStore(join(dir, 'store'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('ImageStore.updateIndex', () => {
  it('leaves index.json as it is when the entries come out unchanged, and rewrites it otherwise', async () => {
    await image('kept', ['a layer']);
    const indexFile = join(dir, 'store', 'index.json');
    const before = await stat(indexFile);
    await store.updateIndex((manifests) => manifests.map((m) => ({ ...m })));
    const after = await stat(indexFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    await image('other', ['another layer']);
    expect((await stat(indexFile)).ino).not.toBe(before.ino);
    expect((await store.list()).map((e) => e.name)).toEqual(['kept', 'other']);
  });
});

describe('ImageStore garbage collection', () => {
  it('reaches the manifest, config and layers of each root, and only the root of anything else', async () => {
    const kept = await image('kept', ['shared layer', 'kept layer']);
    const index = await store.putBytes(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] })),
    );
    const missing = `sha256:${'0'.repeat(64)}`;
    const reached = await store.reachable([kept, index.digest, missing]);
    // manifest + config + 2 layers, the index, the missing root.
    expect(reached.size).toBe(6);
    expect(reached.has(index.digest)).toBe(true);
    expect(reached.has(missing)).toBe(true);
  });

  it('deletes what no root reaches, keeping shared layers, and drops the index entries of deleted manifests', async () => {
    const kept = await image('kept', ['shared layer', 'kept layer']);
    const gone = await image('gone', ['shared layer', 'gone layer']);
    expect(await store.blobs()).toHaveLength(7);

    const unreachable = await store.unreachable([kept]);
    // The gone image's manifest, config and own layer; the shared layer stays.
    expect(unreachable.map((b) => b.digest)).toContain(gone);
    expect(unreachable).toHaveLength(3);
    expect(await store.blobs()).toHaveLength(7);

    const deleted = await store.deleteUnreachable([kept]);
    expect(deleted.map((b) => b.digest).sort()).toEqual(unreachable.map((b) => b.digest).sort());
    expect(await blobFiles()).toHaveLength(4);
    expect((await store.list()).map((e) => e.name)).toEqual(['kept']);
    expect(await store.unreachable([kept])).toEqual([]);
    // What is kept still opens.
    expect((await (await store.openDigest(kept)).manifest()).layers).toHaveLength(2);
  });

  it('lists only finished blobs: downloads in progress and stray files are not blobs', async () => {
    await image('kept', ['layer']);
    await writeFile(join(dir, 'store', 'blobs', 'sha256', 'not-a-digest'), 'x');
    expect(await store.blobs()).toHaveLength(3);
    expect((await store.deleteUnreachable([])).length).toBe(3);
    expect(await blobFiles()).toEqual(['not-a-digest']);
  });

  it('refuses to delete something that is not a digest, changing nothing', async () => {
    await image('kept', ['layer']);
    await expect(store.deleteBlobs(['../index.json'])).rejects.toThrow();
    expect(await blobFiles()).toHaveLength(3);
    expect(await store.list()).toHaveLength(1);
  });
});

describe('ImageStore partial downloads', () => {
  const hex = (c: string) => c.repeat(64);
  const ingest = () => join(dir, 'store', 'ingest');
  /** A lock file as a pull holds it: its owner's pid and host. */
  const lockOf = (pid: number) => JSON.stringify({ pid, host: hostname(), token: `${pid}-t` });
  /** A pid that no process has (the kernel's pid_max is at most 2^22). */
  const gone = 4_194_304 + 7;

  it('lists what stopped pulls left, not a download under way, and deletes only those', async () => {
    await mkdir(ingest(), { recursive: true });
    // Stopped: no lock, or the lock of a process that is gone.
    await writeFile(join(ingest(), hex('a')), 'partial a');
    await writeFile(join(ingest(), hex('b')), 'partial b');
    await writeFile(join(ingest(), `${hex('b')}.lock`), lockOf(gone));
    // Under way: the lock of a live process (this one).
    await writeFile(join(ingest(), hex('c')), 'partial c');
    await writeFile(join(ingest(), `${hex('c')}.lock`), lockOf(process.pid));
    // A small blob whose writer died before renaming it, and one whose writer lives.
    await writeFile(join(ingest(), `${hex('d')}.${gone}.x1`), 'dead put');
    await writeFile(join(ingest(), `${hex('e')}.${process.pid}.x2`), 'live put');

    const partials = await store.partialDownloads();
    expect(partials.map((p) => [p.digest, p.size]).sort()).toEqual([
      [`sha256:${hex('a')}`, 'partial a'.length],
      [`sha256:${hex('b')}`, 'partial b'.length],
      [`sha256:${hex('d')}`, 'dead put'.length],
    ]);
    await store.deletePartialDownloads(partials);
    expect((await readdir(ingest())).sort()).toEqual(
      [hex('c'), `${hex('c')}.lock`, `${hex('e')}.${process.pid}.x2`].sort(),
    );
  });

  it('keeps a partial download that a pull took up again after it was listed', async () => {
    await mkdir(ingest(), { recursive: true });
    await writeFile(join(ingest(), hex('a')), 'partial a');
    const partials = await store.partialDownloads();
    expect(partials).toHaveLength(1);
    await writeFile(join(ingest(), `${hex('a')}.lock`), lockOf(process.pid));
    await store.deletePartialDownloads(partials);
    expect((await readdir(ingest())).sort()).toEqual([hex('a'), `${hex('a')}.lock`]);
  });

  it('refuses to delete a path outside its ingest directory', async () => {
    await expect(
      store.deletePartialDownloads([{ digest: `sha256:${hex('a')}`, path: join(dir, 'elsewhere'), size: 1 }]),
    ).rejects.toThrow(/not in/);
  });
});
