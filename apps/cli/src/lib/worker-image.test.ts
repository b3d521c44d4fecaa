import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { imageTarget, readWorkerManifest, sameImage } from './worker-image.js';

describe('imageTarget', () => {
  it('suggests the last repository segment and keeps registry references as written', () => {
    const t = imageTarget('ghcr.io/acme/image-resize:1.0.0', '/w');
    expect(t.suggestedName).toBe('image-resize');
    expect(t.image).toBe('ghcr.io/acme/image-resize:1.0.0');
    expect(imageTarget('busybox:1', '/w').suggestedName).toBe('busybox');
  });

  it('makes local paths absolute and names them after the file or the tag’s repository', () => {
    expect(imageTarget('./out/worker.tar', '/w')).toMatchObject({
      image: '/w/out/worker.tar',
      suggestedName: 'worker',
    });
    expect(imageTarget('oci-layout:build:dev', '/w')).toMatchObject({
      image: 'oci-layout:/w/build:dev',
      suggestedName: 'build',
    });
    expect(imageTarget('docker-archive:/x/a.tar:acme/thing:2', '/w').suggestedName).toBe('thing');
  });

  it('compares registry references after normalization', () => {
    expect(sameImage('busybox', 'docker.io/library/busybox:latest', '/w')).toBe(true);
    expect(sameImage('busybox:1', 'busybox:2', '/w')).toBe(false);
    expect(sameImage('./a.tar', '/w/a.tar', '/w')).toBe(true);
  });
});

describe('readWorkerManifest', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'iii-rootfs-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads resources from /iii/worker.yaml', async () => {
    await mkdir(join(root, 'iii'));
    await writeFile(join(root, 'iii', 'worker.yaml'), 'resources:\n  cpus: 0.5\n  memory: 256Mi\n');
    expect(await readWorkerManifest(root)).toEqual({ resources: { cpus: 0.5, memory: '256Mi' } });
  });

  it('gives nothing when the image has no /iii/worker.yaml', async () => {
    expect(await readWorkerManifest(root)).toBeUndefined();
  });

  it('never follows a symlink out of the image', async () => {
    const outside = join(root, '..', `outside-${Date.now()}.yaml`);
    await writeFile(outside, 'resources:\n  cpus: 9\n');
    try {
      await mkdir(join(root, 'iii'));
      await symlink(outside, join(root, 'iii', 'worker.yaml'));
      expect(await readWorkerManifest(root)).toBeUndefined();
      await rm(join(root, 'iii'), { recursive: true });
      await mkdir(join(root, 'elsewhere'));
      await writeFile(join(root, 'elsewhere', 'worker.yaml'), 'resources:\n  cpus: 9\n');
      await symlink(join(root, 'elsewhere'), join(root, 'iii'));
      expect(await readWorkerManifest(root)).toBeUndefined();
    } finally {
      await rm(outside, { force: true });
    }
  });
});
