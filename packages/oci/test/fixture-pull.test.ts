import {
  busybox,
  busyboxDocker,
  hostArchitecture,
  multiarch,
  ociArchive,
  pushFixture,
} from '@iii/tools/fixtures';
import { startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Image,
  MediaTypes,
  NoMatchingPlatformError,
  openImage,
  openRegistryImage,
  parseReference,
  RegistryClient,
  staticCredentials,
} from '../src/index.js';

let registry: TestRegistry;
let client: RegistryClient;
beforeAll(async () => {
  registry = await startRegistry({ flavor: 'token' });
  client = new RegistryClient({
    credentials: staticCredentials({
      [registry.host]: { kind: 'basic', username: registry.username!, password: registry.password! },
    }),
    env: {},
  });
  await pushFixture('busybox-docker', registry, 'fx/docker:1');
  await pushFixture('busybox', registry, 'fx/zstd:1', { compress: 'zstd' });
  await pushFixture('multiarch', registry, 'fx/multi:1');
});
afterAll(async () => {
  client?.close();
  await registry?.stop();
});

async function readAllLayers(image: Image): Promise<number> {
  let total = 0;
  for (const layer of await image.layers()) {
    for await (const c of await layer.open()) total += (c as Buffer).length;
  }
  return total;
}

describe('pulling the fixture images from a registry', () => {
  it('reads a Docker schema 2 image', async () => {
    const image = await openRegistryImage(parseReference(`${registry.host}/fx/docker:1`), { client });
    expect(image.mediaType).toBe(MediaTypes.dockerManifest);
    expect((await image.layers())[0]?.descriptor.mediaType).toBe(MediaTypes.dockerLayerGzip);
    expect((await image.config()).config?.Env).toContain(`GREETING=${(await busyboxDocker()).env.GREETING}`);
    expect(await readAllLayers(image)).toBeGreaterThan(0);
  });

  it('reads zstd layers', async () => {
    const image = await openRegistryImage(parseReference(`${registry.host}/fx/zstd:1`), { client });
    const layers = await image.layers();
    expect(layers.every((l) => l.descriptor.mediaType === MediaTypes.ociLayerZstd)).toBe(true);
    // Recompressing changes layer digests, never what the layers contain.
    const original = await openImage((await busybox()).ref);
    expect((await image.config()).rootfs.diff_ids).toEqual((await original.config()).rootfs.diff_ids);
    expect(await readAllLayers(image)).toBeGreaterThan(0);
  });

  it('picks the host platform from a multi-arch index even when it is the last entry', async () => {
    const fx = await multiarch();
    const image = await openRegistryImage(parseReference(`${registry.host}/fx/multi:1`), { client });
    expect(image.platform?.architecture).toBe(hostArchitecture());
    expect(image.index?.mediaType).toBe(MediaTypes.ociIndex);
    expect((await image.config()).config?.Env).toContain(`FIXTURE_ARCH=${hostArchitecture()}`);
    expect(fx.platforms.length).toBe(2);
  });

  it('picks another platform on request and lists the offered ones when none matches', async () => {
    const other = hostArchitecture() === 'amd64' ? 'arm64' : 'amd64';
    const image = await openRegistryImage(parseReference(`${registry.host}/fx/multi:1`), {
      client,
      platform: { os: 'linux', architecture: other },
    });
    expect((await image.config()).config?.Env).toContain(`FIXTURE_ARCH=${other}`);
    const err = await openRegistryImage(parseReference(`${registry.host}/fx/multi:1`), {
      client,
      platform: { os: 'linux', architecture: 's390x' },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NoMatchingPlatformError);
    expect(err.message).toMatch(/linux\/arm64.*linux\/amd64|linux\/amd64.*linux\/arm64/);
  });
});

describe('local fixture archives', () => {
  it('picks each platform of a multi-arch oci-archive', async () => {
    const archive = await ociArchive('multiarch');
    for (const architecture of ['amd64', 'arm64']) {
      const image = await openImage(archive.ref, { platform: { os: 'linux', architecture } });
      try {
        expect((await image.config()).config?.Env).toContain(`FIXTURE_ARCH=${architecture}`);
        expect(image.index?.mediaType).toBe(MediaTypes.ociIndex);
        for (const layer of await image.layers()) for await (const _ of await layer.open());
      } finally {
        await image.close?.();
      }
    }
  });

  it('reads the busybox docker-archive with the same layers as its OCI source', async () => {
    const fx = await busyboxDocker();
    const archive = await openImage(fx.archiveRef);
    const source = await openImage(fx.ref);
    try {
      expect((await archive.config()).rootfs.diff_ids).toEqual((await source.config()).rootfs.diff_ids);
      for (const layer of await archive.layers()) for await (const _ of await layer.open());
    } finally {
      await archive.close?.();
    }
  });
});
