/**
 * Pull benchmark (issue 3): pull + unpack from a local docker-registry, ours against
 * `skopeo copy` + `umoci unpack` (target: at most 0.5x) and against `curl | tar -xz` per layer
 * (target: at most 1.3x), for a ~100 MB 5-layer image and a ~20,000-file image; and our peak RSS
 * while pulling a ~1 GB image (target: at most 150 MB), with skopeo+umoci's for reference.
 * Images are built once with buildah and cached under `.cache/bench/`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  registryRef,
  runCommand,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from '../../test-env/index.ts';
import { type BenchImage, benchImage, bigImage, hugeImage, manyFilesImage } from '../pull/bench-images.ts';
import { ourPull } from '../pull/our-pull.mjs';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';

const run = promisify(execFile);

interface ServedImage {
  image: BenchImage;
  /** `127.0.0.1:PORT/bench/<name>:1` */
  reference: string;
  repository: string;
  layerDigests: string[];
}

async function serve(registry: TestRegistry, image: BenchImage): Promise<ServedImage> {
  const repository = `bench/${image.spec.name}`;
  await skopeoCopy(`oci:${image.layout}:${image.tag}`, registryRef(registry, `${repository}:${image.tag}`), {
    destRegistry: registry,
  });
  const index = JSON.parse(await readFile(join(image.layout, 'index.json'), 'utf8'));
  const manifestDigest: string = index.manifests[0].digest;
  const manifest = JSON.parse(
    await readFile(join(image.layout, 'blobs', ...manifestDigest.split(':')), 'utf8'),
  );
  return {
    image,
    reference: `${registry.host}/${repository}:${image.tag}`,
    repository,
    layerDigests: manifest.layers.map((l: { digest: string }) => l.digest),
  };
}

/**
 * An empty `dir`, with the file system settled: the previous run's tree is removed and everything
 * pending is written out first, so no tool pays for the writeback or the deletes of the one before.
 */
async function fresh(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run('sync', []);
  return dir;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** `skopeo copy docker://... oci:...` then `umoci unpack`, the usual way to get a rootfs from a registry. */
async function skopeoUmoci(served: ServedImage, dir: string): Promise<void> {
  await runCommand('skopeo', [
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    `docker://${served.reference}`,
    `oci:${join(dir, 'layout')}:1`,
  ]);
  await runCommand('umoci', ['unpack', '--image', `${join(dir, 'layout')}:1`, join(dir, 'bundle')]);
}

/** Each layer blob straight from the registry into tar, in order: the floor for a streaming unpacker. */
async function curlTar(served: ServedImage, dir: string, registry: TestRegistry): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs);
  for (const digest of served.layerDigests) {
    const url = `${registry.url}/v2/${served.repository}/blobs/${digest}`;
    await run('sh', ['-c', 'curl -sfL "$1" | tar -xz -C "$2"', 'sh', url, rootfs]);
  }
}

async function compare(
  ctx: BenchContext,
  registry: TestRegistry,
  served: ServedImage,
): Promise<Measurement[]> {
  const ours: number[] = [];
  const skopeo: number[] = [];
  const curl: number[] = [];
  const scratch = join(ctx.workDir, served.image.spec.name);
  for (let i = 0; i < ctx.runs; i++) {
    ctx.signal.throwIfAborted();
    // Interleaved, so a noisy moment on the machine hits every tool alike.
    const oursDir = await fresh(join(scratch, 'ours'));
    ours.push(await timed(() => ourPull(served.reference, oursDir, ctx.signal)));
    const skopeoDir = await fresh(join(scratch, 'skopeo-umoci'));
    skopeo.push(await timed(() => skopeoUmoci(served, skopeoDir)));
    const curlDir = await fresh(join(scratch, 'curl-tar'));
    curl.push(await timed(() => curlTar(served, curlDir, registry)));
    ctx.log(
      `${served.image.spec.description} run ${i + 1}/${ctx.runs}: ours ${ours.at(-1)?.toFixed(0)} ms, skopeo+umoci ${skopeo.at(-1)?.toFixed(0)} ms, curl|tar ${curl.at(-1)?.toFixed(0)} ms`,
    );
  }
  await rm(scratch, { recursive: true, force: true });
  const name = `pull+unpack ${served.image.spec.description}`;
  return [
    { name, unit: 'ms', ours, peers: { 'skopeo+umoci': skopeo }, target: { peer: 'skopeo+umoci', max: 0.5 } },
    { name, unit: 'ms', ours, peers: { 'curl|tar': curl }, target: { peer: 'curl|tar', max: 1.3 } },
  ];
}

/** Peak RSS in MiB of a command, from GNU time's `%M` (KiB). */
async function peakRss(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ rss: number; stdout: string }> {
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'maxrss=%M', command, ...args], {
    cwd,
    maxBuffer: 16 * 1024 * 1024,
  });
  const match = /maxrss=(\d+)/.exec(stderr);
  if (!match) throw new Error(`no peak RSS in the output of /usr/bin/time: ${stderr.slice(-500)}`);
  return { rss: Number(match[1]) / 1024, stdout };
}

async function memory(ctx: BenchContext, served: ServedImage): Promise<Measurement> {
  const ours: number[] = [];
  const skopeo: number[] = [];
  const scratch = join(ctx.workDir, served.image.spec.name);
  const script = join(ctx.repoRoot, 'tools/bench/pull/pull-once.mjs');
  // Memory barely varies between runs, and each run moves a gigabyte: a few runs are enough.
  const runs = Math.min(ctx.runs, 2);
  for (let i = 0; i < runs; i++) {
    const oursDir = await fresh(join(scratch, 'ours'));
    const child = await peakRss(process.execPath, [script, served.reference, oursDir], ctx.repoRoot);
    ours.push(child.rss);
    const skopeoDir = await fresh(join(scratch, 'skopeo-umoci'));
    const copy = await peakRss(
      'skopeo',
      [
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${served.reference}`,
        `oci:${join(skopeoDir, 'layout')}:1`,
      ],
      ctx.repoRoot,
    );
    const unpack = await peakRss(
      'umoci',
      ['unpack', '--image', `${join(skopeoDir, 'layout')}:1`, join(skopeoDir, 'bundle')],
      ctx.repoRoot,
    );
    skopeo.push(Math.max(copy.rss, unpack.rss));
    ctx.log(
      `${served.image.spec.description} peak RSS run ${i + 1}/${runs}: ours ${child.rss.toFixed(0)} MiB`,
    );
  }
  await rm(scratch, { recursive: true, force: true });
  return {
    name: `peak RSS pulling ${served.image.spec.description}`,
    unit: 'MiB',
    ours,
    // The budget is absolute; it is listed as a peer so the runner reports it as a target.
    peers: { '150 MiB budget': [150], 'skopeo+umoci': skopeo },
    target: { peer: '150 MiB budget', max: 1 },
  };
}

export const benchCase: BenchCase = {
  name: 'pull',
  description:
    'pull + unpack from a local registry (~100 MB 5-layer and ~20,000-file images) vs skopeo copy + umoci unpack and curl | tar -xz; peak RSS on ~1 GB',
  requires: ['buildah', 'skopeo', 'umoci', 'docker-registry', 'curl', 'tar', 'time'],
  async run(ctx) {
    const cacheDir = join(ctx.repoRoot, '.cache/bench');
    const images = {
      big: await benchImage(bigImage, cacheDir, ctx.log),
      many: await benchImage(manyFilesImage, cacheDir, ctx.log),
      huge: await benchImage(hugeImage, cacheDir, ctx.log),
    };
    const registry = await startRegistry({ flavor: 'plain', signal: ctx.signal });
    try {
      ctx.log(`serving the images from docker-registry at ${registry.host}`);
      const big = await serve(registry, images.big);
      const many = await serve(registry, images.many);
      const huge = await serve(registry, images.huge);
      return [
        ...(await compare(ctx, registry, big)),
        ...(await compare(ctx, registry, many)),
        await memory(ctx, huge),
      ];
    } finally {
      await registry.stop();
    }
  },
};
