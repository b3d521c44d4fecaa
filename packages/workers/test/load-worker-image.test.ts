import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageStore, openImage, rootfsPath, unpackImage } from '@iii/oci';
import { OVERLAY_MAX_LOWERS, overlayStackProblem } from '@iii/sandbox';
import { busybox } from '@iii/tools/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerImage } from '../src/index.js';

let work: string;
let digest: string;
let paths: { store: string; rootfs: string; snapshots: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'workers-load-image-'));
  paths = { store: join(work, 'store'), rootfs: join(work, 'rootfs'), snapshots: join(work, 'snapshots') };
  const fixture = await busybox();
  const stored = await new ImageStore(paths.store).pull(
    await openImage(`oci-layout:${fixture.layout}:${fixture.tag}`),
  );
  digest = stored.digest;
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('loadWorkerImage on layer snapshots', () => {
  it('keeps an image unpacked as one merged tree (as before) working: its layers are unpacked from the store', async () => {
    // What an earlier iii left: the merged rootfs only.
    await unpackImage(await new ImageStore(paths.store).openDigest(digest), paths.rootfs);
    const image = await loadWorkerImage(paths, 'w', digest, { stack: () => undefined });
    expect(image.layers?.length).toBe(4);
    expect(image.fallback).toBeUndefined();
    expect(image.unpacked).toBe(true);
    expect(image.layers?.every((l) => existsSync(l.path))).toBe(true);
    // The merged tree is left alone (prune reclaims it once nothing needs it).
    expect(existsSync(rootfsPath(paths.rootfs, digest))).toBe(true);
    const again = await loadWorkerImage(paths, 'w', digest, { stack: () => undefined });
    expect(again.unpacked).toBe(false);
  });

  it('falls back to the merged rootfs, saying why, where the sandbox cannot stack the layers', async () => {
    const image = await loadWorkerImage(paths, 'w', digest, {
      stack: () => 'workers get a copy of their root here',
    });
    expect(image.layers).toBeUndefined();
    expect(image.rootfs).toBe(rootfsPath(paths.rootfs, digest));
    expect(image.fallback).toBe('workers get a copy of their root here');
  });

  it('tells when overlayfs cannot stack an image: too many layers, or options longer than a page', () => {
    const dir = join(work, 'sandbox', 'workers', 'w', 'rootfs');
    expect(overlayStackProblem([join(work, 'a'), join(work, 'b')], dir)).toBeUndefined();
    const many = Array.from({ length: OVERLAY_MAX_LOWERS + 1 }, (_, i) => `/l/${i}`);
    expect(overlayStackProblem(many, dir)).toMatch(/501 layers, more than the 500 overlayfs can stack/);
    const long = Array.from({ length: 60 }, (_, i) =>
      join(work, 'snapshots', `${String(i).padStart(64, '0')}`, 'fs'),
    );
    expect(overlayStackProblem(long, dir)).toMatch(/more than the 4095 a mount accepts/);
  });
});
