import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildFixture,
  dockerArchive,
  FIXTURE_NAMES,
  type FixtureName,
  ociArchive,
} from '@iii/tools/fixtures';
import { requireTools, runCommand } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../src/index.js';
import { unpackImage } from '../src/unpack/index.js';
import { listRootfs } from './unpack-fixtures/rootfs-listing.js';

// The acceptance test of layer unpacking: for every fixture image, and for the local image forms
// (oci-layout, oci-archive, docker-archive, a plain path), our rootfs equals the one umoci unpacks
// from the same image (paths, types, modes, owners, symlink targets, file contents, mtimes).
// umoci reads a copy made by skopeo (it must not touch the shared fixture layout, and skopeo picks
// the host's platform out of a multi-arch index the same way we do).

let work: string;

beforeAll(() => {
  requireTools(['umoci', 'skopeo', 'buildah']);
  if (process.getuid?.() !== 0) {
    throw new Error(
      'The umoci comparison needs root (umoci unpack applies ownership): run the tests as root.',
    );
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-unpack-umoci-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function umociRootfs(ref: string, name: string): Promise<string> {
  const layout = path.join(work, `${name}-layout`);
  const bundle = path.join(work, `${name}-bundle`);
  // umoci 0.4 cannot read zstd layers, so its copy is recompressed with gzip.
  await runCommand('skopeo', [
    'copy',
    '--quiet',
    '--dest-compress-format',
    'gzip',
    ref,
    `oci:${layout}:image`,
  ]);
  await runCommand('umoci', ['unpack', '--image', `${layout}:image`, bundle]);
  return path.join(bundle, 'rootfs');
}

async function expectSameAsUmoci(source: string, umociSource: string, name: string): Promise<void> {
  const image = await openImage(source);
  const ours = await unpackImage(image, path.join(work, `${name}-cache`));
  expect(ours.reused).toBe(false);
  const theirs = await umociRootfs(umociSource, name);
  const listing = listRootfs(ours.rootfs, { mtimes: true });
  expect(listing.length).toBeGreaterThan(2);
  expect(listing).toEqual(listRootfs(theirs, { mtimes: true }));
}

describe('unpacked rootfs equals umoci unpack', () => {
  it.each(FIXTURE_NAMES.map((name) => [name]))(
    'unpacks the %s fixture from its OCI layout exactly like umoci',
    async (name: FixtureName) => {
      const fixture = await buildFixture(name);
      await expectSameAsUmoci(`oci-layout:${fixture.layout}:${fixture.tag}`, fixture.ref, name);
    },
    900_000,
  );

  it.each([['whiteouts'], ['multiarch']] as const)(
    'unpacks the %s fixture from an oci-archive exactly like umoci',
    async (name) => {
      const archive = await ociArchive(name);
      await expectSameAsUmoci(
        `oci-archive:${archive.file}:${archive.tag}`,
        archive.ref,
        `${name}-oci-archive`,
      );
    },
    900_000,
  );

  it.each([['whiteouts'], ['busybox-docker']] as const)(
    'unpacks the %s fixture from a docker-archive exactly like umoci',
    async (name) => {
      const archive = await dockerArchive(name);
      await expectSameAsUmoci(`docker-archive:${archive.file}`, archive.ref, `${name}-docker-archive`);
    },
    900_000,
  );

  it('unpacks an archive given as a plain path exactly like umoci', async () => {
    const archive = await dockerArchive('whiteouts');
    await expectSameAsUmoci(archive.file, archive.ref, 'plain-path');
  }, 900_000);
});
