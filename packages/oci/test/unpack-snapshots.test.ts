import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buildFixture, type FixtureName } from '@iii/tools/fixtures';
import { requireTools, runCommand } from '@iii/tools/test-env';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chainIds,
  DiffIdMismatchError,
  listSnapshots,
  MediaTypes,
  openImage,
  removeSnapshot,
  sha256Digest,
  snapshotDir,
  unpackSnapshots,
} from '../src/index.js';
import { listRootfs } from './unpack-fixtures/rootfs-listing.js';

// Snapshots stacked by overlayfs must show exactly what umoci unpacks from the same image: the
// whiteouts and opaque directories recorded in the snapshots are read by the kernel itself here.

let work: string;
const mounts: string[] = [];

beforeAll(() => {
  requireTools(['umoci', 'skopeo', 'setfattr']);
  if (process.getuid?.() !== 0)
    throw new Error('The snapshot comparison mounts overlays: run the tests as root.');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'iii-snapshots-'));
});

afterAll(() => {
  for (const mount of mounts.reverse()) execFileSync('umount', [mount]);
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function umociRootfs(ref: string, name: string): Promise<string> {
  const layout = path.join(work, `${name}-layout`);
  const bundle = path.join(work, `${name}-bundle`);
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

/** Mounts `lowers` (top first) read-only, as a worker's overlay would stack them. */
function mountStack(lowers: readonly string[], name: string): string {
  const target = path.join(work, `${name}-merged`);
  fs.mkdirSync(target);
  // A read-only overlay needs two lower layers: an empty one goes on top when there is only one.
  const stack = lowers.length > 1 ? lowers : [fs.mkdtempSync(path.join(work, 'empty-')), ...lowers];
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${stack.join(':')}`, target]);
  mounts.push(target);
  return target;
}

describe('snapshots stacked with overlayfs', () => {
  const snapshots = () => path.join(work, 'snapshots');

  it('computes chain IDs as the OCI image spec defines them', () => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    const [first, second] = chainIds([a, b]);
    expect(first).toBe(a);
    const expected = execFileSync('sh', ['-c', `printf '%s' '${a} ${b}' | sha256sum`])
      .toString()
      .split(' ')[0];
    expect(second).toBe(`sha256:${expected}`);
  });

  it('refuses a layer whose content is not the diff ID the config names, and commits nothing', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'hello.txt', mode: 0o644 }, 'hello\n');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const blob = Buffer.concat(chunks);
    const wrong = `sha256:${'0'.repeat(64)}`;
    const image = {
      config: async () => ({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [wrong] },
      }),
      layers: async () => [
        {
          descriptor: { mediaType: MediaTypes.ociLayer, digest: sha256Digest(blob), size: blob.length },
          open: async () => Readable.from([blob]),
        },
      ],
    };
    const dir = path.join(work, 'mismatch');
    await expect(unpackSnapshots(image, dir)).rejects.toBeInstanceOf(DiffIdMismatchError);
    expect(fs.readdirSync(dir).filter((n) => n !== 'format')).toEqual([]);
  });

  it.each([['whiteouts'], ['busybox-users'], ['node-worker']] as [FixtureName][])(
    'show the %s fixture exactly as umoci unpacks it',
    async (name) => {
      const fixture = await buildFixture(name);
      const image = await openImage(`oci-layout:${fixture.layout}:${fixture.tag}`);
      const result = await unpackSnapshots(image, snapshots());
      expect(result.format).toBe('overlay');
      const merged = mountStack(result.snapshots.map((s) => s.path).reverse(), name);
      const listing = listRootfs(merged, { mtimes: true });
      expect(listing.length).toBeGreaterThan(2);
      expect(listing).toEqual(listRootfs(await umociRootfs(fixture.ref, name), { mtimes: true }));

      const again = await unpackSnapshots(image, snapshots());
      expect(again.snapshots.every((s) => s.reused)).toBe(true);
      expect(again.snapshots.map((s) => s.path)).toEqual(result.snapshots.map((s) => s.path));
    },
    900_000,
  );

  it('records whiteouts as overlay whiteout devices and opaque directories as trusted xattrs', async () => {
    const fixture = await buildFixture('whiteouts');
    const image = await openImage(`oci-layout:${fixture.layout}:${fixture.tag}`);
    const { snapshots: stack } = await unpackSnapshots(image, snapshots());
    const top = (stack[stack.length - 1] as { path: string }).path;
    const whiteout = fs.lstatSync(path.join(top, 'data/remove-me.txt'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    const opaque = execFileSync('getfattr', [
      '--only-values',
      '-n',
      'trusted.overlay.opaque',
      path.join(top, 'data/replaced'),
    ]);
    expect(opaque.toString()).toBe('y');
  }, 900_000);

  it('shares the snapshots of common lower layers between images, and removes one atomically', async () => {
    const base = await buildFixture('node-base');
    const worker = await buildFixture('node-worker');
    const baseImage = await openImage(`oci-layout:${base.layout}:${base.tag}`);
    const workerImage = await openImage(`oci-layout:${worker.layout}:${worker.tag}`);
    const dir = path.join(work, 'shared');
    const first = await unpackSnapshots(baseImage, dir);
    const second = await unpackSnapshots(workerImage, dir);
    const shared = first.snapshots.length;
    expect(second.snapshots.length).toBeGreaterThan(shared);
    expect(second.snapshots.slice(0, shared).every((s) => s.reused)).toBe(true);
    expect(second.snapshots.slice(shared).every((s) => !s.reused)).toBe(true);
    expect((await listSnapshots(dir)).map((s) => s.chainId).sort()).toEqual(
      second.snapshots.map((s) => s.chainId).sort(),
    );

    const topId = (second.snapshots[second.snapshots.length - 1] as { chainId: string }).chainId;
    await removeSnapshot(dir, topId);
    expect(fs.existsSync(snapshotDir(dir, topId))).toBe(false);
    expect((await listSnapshots(dir)).length).toBe(second.snapshots.length - 1);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 900_000);
});
