import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildFixture } from '@iii/tools/fixtures';
import { registryRef, requireTools, skopeoCopy, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore, openImage, type PullProgress } from '../src/index.js';
import { pullAndUnpack, UnsafeEntryError, unpackImage } from '../src/unpack/index.js';
import { writeOciLayout } from './unpack-fixtures/oci-layout-writer.js';
import { listRootfs } from './unpack-fixtures/rootfs-listing.js';
import { tarBytes } from './unpack-fixtures/tar-layer.js';

let registry: TestRegistry;
let work: string;

beforeAll(async () => {
  requireTools(['docker-registry', 'skopeo', 'buildah']);
  registry = await startRegistry({ flavor: 'plain' });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-pull-unpack-'));
});

afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('pullAndUnpack', () => {
  it('pulls into the store and unpacks while downloading, to the same rootfs as unpacking the stored image', async () => {
    const fixture = await buildFixture('whiteouts');
    await skopeoCopy(fixture.ref, registryRef(registry, 'fixtures/whiteouts:1'), { destRegistry: registry });
    const reference = `${registry.host}/fixtures/whiteouts:1`;
    const store = new ImageStore(path.join(work, 'store'));
    const cache = path.join(work, 'rootfs');

    const first = await pullAndUnpack(await openImage(reference), store, cache);
    expect(first.rootfs.reused).toBe(false);
    expect(first.image.digest).toBe((await openImage(reference)).digest);
    const fromStore = await unpackImage(await store.openDigest(first.image.digest), path.join(work, 'check'));
    expect(listRootfs(first.rootfs.rootfs, { mtimes: true })).toEqual(
      listRootfs(fromStore.rootfs, { mtimes: true }),
    );

    // Again: nothing is downloaded and the cached rootfs is reused.
    const events: PullProgress[] = [];
    const second = await pullAndUnpack(await openImage(reference), store, cache, {
      pull: { onProgress: (e) => events.push(e) },
    });
    expect(second.rootfs).toMatchObject({ reused: true, rootfs: first.rootfs.rootfs });
    const layerEvents = events.filter((e) => e.kind === 'layer');
    expect(layerEvents.length).toBeGreaterThan(0);
    expect(layerEvents.every((e) => e.status === 'exists')).toBe(true);
  });

  it('refuses a hostile image from a registry and leaves nothing in the rootfs cache', async () => {
    const layout = path.join(work, 'hostile-layout');
    await writeOciLayout(layout, '1', [
      await tarBytes([
        { name: 'bin/', type: 'directory' },
        { name: 'bin/ok', content: 'fine' },
      ]),
      await tarBytes([{ name: '../../escaped', content: 'pwned' }]),
    ]);
    await skopeoCopy(`oci:${layout}:1`, registryRef(registry, 'hostile/image:1'), { destRegistry: registry });
    const cache = path.join(work, 'hostile-rootfs');
    const store = new ImageStore(path.join(work, 'hostile-store'));

    const error = await pullAndUnpack(
      await openImage(`${registry.host}/hostile/image:1`),
      store,
      cache,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeEntryError);
    expect(error).toMatchObject({ reason: 'parent-traversal' });
    expect(fs.readdirSync(cache)).toEqual([]);
    expect(fs.existsSync(path.join(work, 'escaped'))).toBe(false);
    expect(fs.existsSync(path.join(cache, '..', 'escaped'))).toBe(false);
  });
});
