import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { defaultPullConcurrency } from '../store/image-store.js';
import { applyLayer } from './apply-layer.js';
import { TargetExistsError } from './errors.js';
import type { UnpackLayer } from './layer-source.js';
import { LayerWriter, type StagedLayer } from './layer-writer.js';
import { defaultUnpackLimits, type UnpackLimits } from './limits.js';
import { type ApplyOwners, RecordedOwners } from './owners.js';
import type { UnpackProgress } from './progress.js';
import { removeTree } from './remove-tree.js';
import { RootfsMerger } from './rootfs-merger.js';
import { type SmallFilesThread, withSmallFilesThread } from './small-files.js';
import { UnpackBudget } from './unpack-budget.js';
import type { UnpackWarning } from './warning.js';

/** Options of {@link unpack}: abort signal, limits, rootless mode, ownership, progress, warnings. */
export interface UnpackOptions {
  readonly signal?: AbortSignal;
  /** Overrides for some of the limits; the rest keep their defaults. */
  readonly limits?: Partial<UnpackLimits>;
  /**
   * Unprivileged mode: ownership is not applied and device nodes are refused. Defaults to true unless
   * the process runs as root.
   */
  readonly rootless?: boolean;
  /**
   * Also hash every blob and compare it with its descriptor (default false: `Layer.open` of every
   * image source already verifies size and digest while streaming).
   */
  readonly verify?: boolean;
  /**
   * How many layers are read and staged at the same time (default: as many as `store.pull`
   * downloads, so every download can feed its unpack), lowest first; they are merged into the
   * rootfs strictly in order. 1 unpacks one layer after another.
   */
  readonly concurrency?: number;
  readonly onProgress?: (progress: UnpackProgress) => void;
  readonly onWarning?: (warning: UnpackWarning) => void;
  /**
   * Rootless: gives the image's owners to the finished rootfs before it is moved into place (the
   * unpack records them from the tar headers, as it cannot chown). Not called as root.
   */
  readonly applyOwners?: ApplyOwners;
}

/** What {@link unpack} wrote: the rootfs path, the entries applied and the bytes written. */
export interface UnpackResult {
  /** Absolute path of the rootfs. */
  readonly rootfs: string;
  /** Tar entries applied (0 when an existing rootfs was reused). */
  readonly entries: number;
  /** Bytes of file content written (0 when an existing rootfs was reused). */
  readonly bytes: number;
  readonly warnings: readonly UnpackWarning[];
}

/** Prefix of the temporary directories an unpack works in, next to its target. */
export function unpackTempPrefix(target: string): string {
  return `.${path.basename(target)}.unpack-`;
}

/**
 * Unpacks layers into `targetDir`, which must not exist yet. Layers are read, decompressed and
 * written at the same time, each into a staging directory of its own, and merged into the rootfs
 * lowest first (`RootfsMerger`), so the result is the same as applying them one after another.
 * The work happens in a temporary directory next to `targetDir` that is renamed into place at the
 * end, so `targetDir` appears complete or not at all; on any error the temporary directories are
 * removed. Throws `TargetExistsError` if `targetDir` exists (also when another process won a race to it).
 */
export function unpack(
  layers: readonly UnpackLayer[],
  targetDir: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  return withSmallFilesThread((thread) => unpackWith(thread, layers, targetDir, options));
}

/** {@link unpack} with the small files written by `thread` (see `Unpacker`). */
export async function unpackWith(
  thread: SmallFilesThread,
  layers: readonly UnpackLayer[],
  targetDir: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const target = path.resolve(targetDir);
  if (await exists(target)) throw new TargetExistsError(target);
  const outer = options.signal ?? new AbortController().signal;
  outer.throwIfAborted();

  await fs.mkdir(path.dirname(target), { recursive: true });
  // The pid in the name lets a later unpack recognise directories abandoned by a crashed process.
  const temp = await fs.mkdtemp(
    path.join(path.dirname(target), `${unpackTempPrefix(target)}${process.pid}-`),
  );
  const staging = `${temp}-layers`;
  const controller = new AbortController();
  const signal = AbortSignal.any([outer, controller.signal]);
  const warnings: UnpackWarning[] = [];
  let staged: Promise<StagedLayer>[] = [];
  try {
    // mkdtemp creates 0700; a container's '/' must be traversable by non-root users.
    await fs.chmod(temp, 0o755);
    await fs.mkdir(staging);
    const umask = await probeUmask(temp);
    const rootless = options.rootless ?? process.getuid?.() !== 0;
    const owners = rootless && options.applyOwners ? new RecordedOwners() : undefined;
    const budget = new UnpackBudget({ ...defaultUnpackLimits, ...options.limits });
    const report = (index: number, bytes: number, done: boolean) => {
      const { digest, size } = (layers[index] as UnpackLayer).descriptor;
      options.onProgress?.({
        index,
        count: layers.length,
        digest,
        bytes: done ? size : bytes,
        total: size,
        done,
      });
    };
    // At most `concurrency` layers at a time, started in order (p-limit's queue is first in, first out).
    const limit = pLimit(Math.max(1, options.concurrency ?? defaultPullConcurrency));
    staged = layers.map((layer, index) =>
      limit(async () => {
        signal.throwIfAborted();
        const root = path.join(staging, String(index));
        await fs.mkdir(root);
        const writer = new LayerWriter({
          root,
          digest: layer.descriptor.digest,
          rootless,
          budget,
          umask,
          ...(owners ? { recordOwners: true } : {}),
          thread,
          onWarning: (warning) => {
            warnings.push(warning);
            options.onWarning?.(warning);
          },
        });
        try {
          await applyLayer(layer, writer, {
            signal,
            verify: options.verify ?? false,
            onBytes: (bytes) => report(index, bytes, false),
          });
        } catch (error) {
          // The helper thread may still be writing into the staging directory about to be removed.
          await writer.settle();
          throw error;
        }
        return await writer.finish();
      }),
    );
    // The first layer to fail stops the others at once (the loop below may be waiting on a lower one).
    for (const promise of staged) promise.catch((error: unknown) => controller.abort(error));

    const merger = new RootfsMerger({ root: temp, rootless });
    for (const [index, promise] of staged.entries()) {
      const layer = await promise;
      merger.merge(layer);
      owners?.merge(layer);
      report(index, 0, true);
    }
    merger.finish();
    const owned = owners?.list() ?? [];
    if (owned.length > 0) await options.applyOwners?.(temp, owned);
    await removeTree(staging);
    await commit(temp, target);
    return { rootfs: target, entries: budget.entries, bytes: budget.bytes, warnings };
  } catch (error) {
    // Stop the layers still being staged, and wait for them before removing their directories.
    controller.abort(error);
    await Promise.allSettled(staged);
    await removeTree(staging);
    await removeTree(temp);
    throw outer.aborted ? (outer.reason ?? error) : error;
  }
}

async function commit(temp: string, target: string): Promise<void> {
  try {
    await fs.rename(temp, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') throw new TargetExistsError(target);
    throw error;
  }
}

/** The umask, read from a probe file rather than process.umask() (deprecated: it briefly changes it). */
export async function probeUmask(dir: string): Promise<number> {
  const probe = path.join(dir, '.umask-probe');
  await fs.writeFile(probe, '', { mode: 0o777 });
  const { mode } = await fs.stat(probe);
  await fs.unlink(probe);
  return ~mode & 0o777;
}

async function exists(target: string): Promise<boolean> {
  return (await fs.lstat(target).catch(() => undefined)) !== undefined;
}
