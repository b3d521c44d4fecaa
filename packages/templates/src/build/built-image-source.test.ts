import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseImageTag } from '../image-tag.js';
import { builtImageSource, recordBuild } from './built-image-source.js';

let images: string;
beforeEach(async () => {
  images = await mkdtemp(join(tmpdir(), 'iii-builds-'));
  await mkdir(join(images, 'greeter'));
});
afterEach(async () => {
  await rm(images, { recursive: true, force: true });
});

describe('builtImageSource', () => {
  it('finds a build by the reference it was built as, or by its bare name and tag', async () => {
    const dir = join(images, 'greeter');
    await recordBuild(dir, parseImageTag('ghcr.io/me/greeter:0.1.0'), {
      transport: 'oci-layout',
      path: dir,
      tag: '0.1.0',
    });
    const source = `oci-layout:${dir}:0.1.0`;
    expect(await builtImageSource(images, 'ghcr.io/me/greeter:0.1.0')).toBe(source);
    expect(await builtImageSource(images, 'greeter:0.1.0')).toBe(source);
    expect(await builtImageSource(images, 'greeter:0.2.0')).toBeUndefined();
  });

  it('does not mistake another registry image with the same last segment for the build', async () => {
    const dir = join(images, 'greeter');
    await recordBuild(dir, parseImageTag('greeter:1'), { transport: 'oci-layout', path: dir, tag: '1' });
    expect(await builtImageSource(images, 'greeter:1')).toBe(`oci-layout:${dir}:1`);
    expect(await builtImageSource(images, 'localhost:5000/team/greeter:1')).toBeUndefined();
  });

  it('finds a docker build by its saved archive', async () => {
    const dir = join(images, 'greeter');
    const archive = join(dir, 'latest.docker.tar');
    await recordBuild(dir, parseImageTag('greeter'), {
      transport: 'docker-archive',
      path: archive,
      tag: 'greeter',
    });
    expect(await builtImageSource(images, 'greeter')).toBe(`docker-archive:${archive}`);
  });

  it('answers undefined for names it could never have built or a damaged record', async () => {
    await writeFile(join(images, 'greeter', 'iii-builds.json'), '{not json');
    expect(await builtImageSource(images, 'greeter:1')).toBeUndefined();
    expect(await builtImageSource(images, 'Not/Valid')).toBeUndefined();
    expect(await builtImageSource(images, 'missing:1')).toBeUndefined();
  });
});
