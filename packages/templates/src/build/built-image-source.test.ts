import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtImageSource } from './built-image-source.js';

let images: string;
beforeEach(async () => {
  images = await mkdtemp(join(tmpdir(), 'iii-builds-'));
});
afterEach(async () => {
  await rm(images, { recursive: true, force: true });
});

describe('builtImageSource', () => {
  it('finds a buildah or podman build by the tag in its OCI layout', async () => {
    await mkdir(join(images, 'greeter'));
    await writeFile(
      join(images, 'greeter', 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ annotations: { 'org.opencontainers.image.ref.name': '0.1.0' } }],
      }),
    );
    expect(await builtImageSource(images, 'greeter:0.1.0')).toBe(
      `oci-layout:${join(images, 'greeter')}:0.1.0`,
    );
    expect(await builtImageSource(images, 'ghcr.io/me/greeter:0.1.0')).toBe(
      `oci-layout:${join(images, 'greeter')}:0.1.0`,
    );
    expect(await builtImageSource(images, 'greeter:0.2.0')).toBeUndefined();
  });

  it('finds a docker build by its saved archive', async () => {
    await mkdir(join(images, 'greeter'));
    await writeFile(join(images, 'greeter', 'latest.docker.tar'), '');
    expect(await builtImageSource(images, 'greeter')).toBe(
      `docker-archive:${join(images, 'greeter', 'latest.docker.tar')}`,
    );
  });

  it('answers undefined for names it could never have built or a broken index', async () => {
    await mkdir(join(images, 'broken'));
    await writeFile(join(images, 'broken', 'index.json'), '{not json');
    expect(await builtImageSource(images, 'broken:1')).toBeUndefined();
    expect(await builtImageSource(images, 'Not/Valid')).toBeUndefined();
    expect(await builtImageSource(images, 'missing:1')).toBeUndefined();
  });
});
