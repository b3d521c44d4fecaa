import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { budArgs } from '../../fixtures/buildah.ts';
import { runCommand } from '../../test-env/index.ts';

/** What one pull benchmark image holds: `dirs` are layers, one `COPY` each. */
export interface BenchImageSpec {
  name: string;
  description: string;
  layers: ReadonlyArray<{
    /** Incompressible bytes, split into files of `randomFileSize`. */
    randomBytes: number;
    randomFileSize: number;
    /** Compressible text bytes, split into `textFiles` files. */
    textBytes: number;
    textFiles: number;
  }>;
}

export interface BenchImage {
  spec: BenchImageSpec;
  /** OCI layout directory holding the image under tag `1`. */
  layout: string;
  tag: string;
}

const MiB = 1024 * 1024;

/** ~100 MB in 5 layers, each half random and half text. */
export const bigImage: BenchImageSpec = {
  name: 'big',
  description: '~100 MB, 5 layers',
  layers: Array.from({ length: 5 }, () => ({
    randomBytes: 10 * MiB,
    randomFileSize: 2 * MiB,
    textBytes: 10 * MiB,
    textFiles: 20,
  })),
};

/** ~20,000 small text files in 2 layers. */
export const manyFilesImage: BenchImageSpec = {
  name: 'many-files',
  description: '~20,000 files, 2 layers',
  layers: Array.from({ length: 2 }, () => ({
    randomBytes: 0,
    randomFileSize: 1,
    textBytes: 20 * MiB,
    textFiles: 10_000,
  })),
};

/** ~1 GB in 4 layers, for peak memory. */
export const hugeImage: BenchImageSpec = {
  name: 'huge',
  description: '~1 GB, 4 layers',
  layers: Array.from({ length: 4 }, () => ({
    randomBytes: 192 * MiB,
    randomFileSize: 32 * MiB,
    textBytes: 64 * MiB,
    textFiles: 64,
  })),
};

// Bump when the specs or the build change, so cached images are rebuilt.
const BUILD_VERSION = 1;

function textChunk(file: number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `file ${file} line ${i}: status=${i % 7 === 0 ? 'ok' : 'pending'} value=${(i * 7919) % 10007}\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('').slice(0, bytes);
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= MiB) {
    if (!out.write(randomBytes(Math.min(MiB, left))))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
}

async function writeContext(dir: string, spec: BenchImageSpec): Promise<void> {
  const steps = ['FROM scratch'];
  for (const [index, layer] of spec.layers.entries()) {
    const layerDir = join(dir, `l${index}`);
    await mkdir(layerDir, { recursive: true });
    for (let f = 0; f * layer.randomFileSize < layer.randomBytes; f++) {
      await writeRandomFile(
        join(layerDir, `random-${f}.bin`),
        Math.min(layer.randomFileSize, layer.randomBytes - f * layer.randomFileSize),
      );
    }
    const perFile = Math.floor(layer.textBytes / layer.textFiles);
    const perDir = 200;
    for (let f = 0; f < layer.textFiles; f++) {
      const sub = join(layerDir, `d${Math.floor(f / perDir)}`);
      if (f % perDir === 0) await mkdir(sub, { recursive: true });
      await writeFile(join(sub, `f${f}.txt`), textChunk(f, perFile));
    }
    steps.push(`COPY l${index}/ /data/l${index}/`);
  }
  await writeFile(join(dir, 'Containerfile'), `${steps.join('\n')}\n`);
}

/**
 * Builds a bench image with buildah (FROM scratch, one COPY per layer, gzip layers) into an OCI
 * layout under `cacheDir`, once: later runs reuse it. Built in a temp dir and renamed into place.
 */
export async function benchImage(
  spec: BenchImageSpec,
  cacheDir: string,
  log: (m: string) => void,
): Promise<BenchImage> {
  const final = join(cacheDir, `pull-${spec.name}-v${BUILD_VERSION}`);
  const tag = '1';
  const image = { spec, layout: join(final, 'layout'), tag };
  if (await readFile(join(final, 'done'), 'utf8').catch(() => undefined)) return image;

  log(`building the ${spec.description} image with buildah (once; cached in ${final})`);
  await mkdir(cacheDir, { recursive: true });
  const temp = await mkdtemp(join(cacheDir, `.tmp-pull-${spec.name}-`));
  try {
    const context = join(temp, 'context');
    const storage = join(temp, 'storage');
    await writeContext(context, spec);
    const buildah = (args: string[]) =>
      runCommand(
        'buildah',
        [
          '--storage-driver',
          'vfs',
          '--root',
          join(storage, 'root'),
          '--runroot',
          join(storage, 'run'),
          ...args,
        ],
        {
          env: { ...process.env, TMPDIR: temp },
        },
      );
    const ref = `localhost/iii-bench/${spec.name}:${tag}`;
    // The fixtures' build flags: chroot isolation, one layer per step, epoch timestamps.
    await buildah(budArgs(context, ref));
    await buildah(['push', '--quiet', ref, `oci:${join(temp, 'layout')}:${tag}`]);
    await buildah(['rmi', '--all', '--force']).catch(() => '');
    await rm(context, { recursive: true, force: true });
    await rm(storage, { recursive: true, force: true });
    await writeFile(join(temp, 'done'), 'ok\n');
    await rm(final, { recursive: true, force: true });
    await rename(temp, final);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return image;
}
