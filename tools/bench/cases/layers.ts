/**
 * `layers`: what shared layer snapshots save, with whole `iii` processes in one run.
 * - `iii worker add` of a second image that shares all but one small layer with the first, against a
 *   cached re-add of the first (target <= 1.5x), and how much the unpacked cache grows (target: the
 *   new layer's tar, within 1 MB);
 * - the first add of a multi-layer image (snapshots) against the merged unpack `add` did before
 *   (`pullAndUnpack` into one tree per image, the same store, in a process of its own);
 * - 20 images on one base: disk use of the unpacked cache against the sum of the unique layers'
 *   uncompressed tars (target <= 1.1x).
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { nodeBase, nodeWorker } from '../../fixtures/index.ts';
import { fresh, scratchRoot } from '../scratch.ts';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';

const run = promisify(execFile);
const MB = 1024 * 1024;
const IMAGES = 20;

/** `du -sbx`: apparent bytes of a tree. */
async function du(path: string): Promise<number> {
  const { stdout } = await run('du', ['-sbx', path]).catch(() => ({ stdout: '0' }));
  return Number(stdout.split('\t')[0]);
}

/** A copy of image `from` as `<dir>:<tag>` with one more layer holding `/extra/<name>`. */
async function withOneMoreLayer(
  from: string,
  dir: string,
  name: string,
  content: string,
  tag = 'latest',
): Promise<string> {
  await run('skopeo', ['copy', '--quiet', from, `oci:${dir}:${tag}`]);
  const src = join(dir, '..', `${name}-src`);
  await mkdir(join(src, 'extra'), { recursive: true });
  await writeFile(join(src, 'extra', name), content);
  // A layer tar made by GNU tar, added verbatim (umoci insert's small layers can lack the tar end).
  await run('tar', ['-C', src, '-cf', join(src, 'layer.tar'), 'extra']);
  await run('umoci', ['raw', 'add-layer', '--image', `${dir}:${tag}`, join(src, 'layer.tar')]);
  return `oci-layout:${dir}:${tag}`;
}

/** Bytes of each distinct layer's uncompressed tar in the OCI layouts `dirs`, by blob digest. */
async function layerTarSizes(dirs: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const dir of dirs) {
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    for (const m of index.manifests) {
      const blob = (d: string) => join(dir, 'blobs', 'sha256', d.slice('sha256:'.length));
      const manifest = JSON.parse(await readFile(blob(m.digest), 'utf8')) as {
        layers: { digest: string; mediaType: string }[];
      };
      for (const layer of manifest.layers) {
        if (sizes.has(layer.digest)) continue;
        let bytes = 0;
        const count = async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) bytes += chunk.length;
          yield Buffer.alloc(0);
        };
        const read = createReadStream(blob(layer.digest));
        if (layer.mediaType.endsWith('gzip')) await pipeline(read, createGunzip(), count);
        else await pipeline(read, count);
        sizes.set(layer.digest, bytes);
      }
    }
  }
  return sizes;
}

export const benchCase: BenchCase = {
  name: 'layers',
  description:
    'shared layer snapshots: second image add vs cached re-add, cache growth, first add vs merged, 20 images on one base',
  requires: ['skopeo', 'umoci', 'buildah', 'setfattr'],
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const bin = join(ctx.repoRoot, 'apps/cli/bin/run.js');
    const worker = await nodeWorker({ signal: ctx.signal });
    const first = `oci-layout:${worker.layout}:${worker.tag}`;
    const second = await withOneMoreLayer(
      worker.ref,
      join(ctx.workDir, 'second'),
      'note.txt',
      'x'.repeat(149),
    );
    const secondTar = [...(await layerTarSizes([join(ctx.workDir, 'second')])).values()].pop() ?? 0;
    let project = 0;
    /** `iii worker add <image>` in a new project of `home`: its duration in ms. */
    const add = async (home: string, image: string): Promise<number> => {
      const dir = join(ctx.workDir, 'projects', String(project++));
      await mkdir(dir, { recursive: true });
      const t0 = performance.now();
      await run(process.execPath, [bin, 'worker', 'add', image, '--name', 'w'], {
        env: { ...process.env, III_HOME: home, III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' },
      });
      return performance.now() - t0;
    };
    const merged = join(ctx.repoRoot, 'tools/bench/pull/merged-add.mjs');

    const reAdd: number[] = [];
    const secondAdd: number[] = [];
    const growth: number[] = [];
    const firstAdd: number[] = [];
    const mergedAdd: number[] = [];
    // The first add and the merged unpack write ~160 MB each: on tmpfs, as issue 18 measured, so
    // the disk's writeback of one run does not land on the next; the order alternates per round.
    const scratch = await scratchRoot(ctx, 'layers');
    ctx.log(`writing the stores to ${scratch}`);
    try {
      for (let i = 0; i < ctx.runs + 1; i++) {
        const home = await fresh(join(scratch, 'home'));
        const mergedDir = join(scratch, 'merged');
        await rm(mergedDir, { recursive: true, force: true });
        ctx.log(`run ${i + 1}/${ctx.runs + 1}${i === 0 ? ' (warm-up)' : ''}`);
        const timeMerged = async () => {
          const t0 = performance.now();
          await run(process.execPath, [merged, worker.layout, worker.tag, mergedDir]);
          return performance.now() - t0;
        };
        const mergedFirst = i % 2 === 1;
        const tMergedEarly = mergedFirst ? await timeMerged() : 0;
        const tFirst = await add(home, first);
        const tMerged = mergedFirst ? tMergedEarly : await timeMerged();
        const tReAdd = await add(home, first);
        const before = await du(join(home, 'snapshots'));
        const tSecond = await add(home, second);
        const grown = (await du(join(home, 'snapshots'))) - before;
        if (i === 0) continue;
        firstAdd.push(tFirst);
        reAdd.push(tReAdd);
        secondAdd.push(tSecond);
        growth.push(grown / MB);
        mergedAdd.push(tMerged);
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }

    ctx.log(`building ${IMAGES} images on the node-base image`);
    const base = await nodeBase({ signal: ctx.signal });
    // One layout holds the 20 images (its blobs once), each tagged.
    const many = join(ctx.workDir, 'many', 'layout');
    await mkdir(join(ctx.workDir, 'many'), { recursive: true });
    const layouts = [many];
    const refs: string[] = [];
    for (let i = 0; i < IMAGES; i++) {
      refs.push(await withOneMoreLayer(base.ref, many, `app-${i}.txt`, `worker ${i}\n`, `img-${i}`));
    }
    const manyHome = join(ctx.workDir, 'many-home');
    for (const ref of refs) await add(manyHome, ref);
    const unique = [...(await layerTarSizes(layouts)).values()].reduce((n, b) => n + b, 0);
    const cache = await du(join(manyHome, 'snapshots'));

    return [
      {
        name: 'worker add: 2nd image sharing all but one small layer',
        unit: 'ms',
        ours: secondAdd,
        peers: { 'cached re-add of the 1st': reAdd },
        target: { peer: 'cached re-add of the 1st', max: 1.5 },
      },
      {
        name: `cache growth for the 2nd image (new layer: ${secondTar} B tar)`,
        unit: 'MB',
        ours: growth,
        peers: { 'new layer + 1 MB': growth.map(() => (secondTar + MB) / MB) },
        target: { peer: 'new layer + 1 MB', max: 1 },
      },
      {
        name: 'worker add: first add of the multi-layer node-worker image',
        unit: 'ms',
        ours: firstAdd,
        peers: { 'merged unpack (before)': mergedAdd },
        target: { peer: 'merged unpack (before)', max: 1 },
      },
      {
        name: `unpacked cache of ${IMAGES} images on one base`,
        unit: 'MB',
        ours: [cache / MB],
        peers: { 'unique layers (tar)': [unique / MB] },
        target: { peer: 'unique layers (tar)', max: 1.1 },
      },
    ];
  },
};
