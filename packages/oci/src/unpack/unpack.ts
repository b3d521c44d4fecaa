import fs from 'node:fs/promises';
import path from 'node:path';
import { applyLayer } from './apply-layer.js';
import { TargetExistsError } from './errors.js';
import type { UnpackLayer } from './layer-source.js';
import { defaultUnpackLimits, type UnpackLimits } from './limits.js';
import type { UnpackProgress } from './progress.js';
import { removeTree } from './remove-tree.js';
import { RootfsWriter } from './rootfs-writer.js';
import type { UnpackWarning } from './warning.js';

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
  readonly onProgress?: (progress: UnpackProgress) => void;
  readonly onWarning?: (warning: UnpackWarning) => void;
}

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
 * Unpacks layers, lowest first, into `targetDir`, which must not exist yet. The work happens in a
 * temporary directory next to it that is renamed into place at the end, so `targetDir` appears
 * complete or not at all; on any error the temporary directory is removed.
 * Throws `TargetExistsError` if `targetDir` exists (also when another process won a race to it).
 */
export async function unpack(
  layers: readonly UnpackLayer[],
  targetDir: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const target = path.resolve(targetDir);
  if (await exists(target)) throw new TargetExistsError(target);
  const signal = options.signal ?? new AbortController().signal;
  signal.throwIfAborted();

  await fs.mkdir(path.dirname(target), { recursive: true });
  // The pid in the name lets a later unpack recognise directories abandoned by a crashed process.
  const temp = await fs.mkdtemp(
    path.join(path.dirname(target), `${unpackTempPrefix(target)}${process.pid}-`),
  );
  const warnings: UnpackWarning[] = [];
  try {
    // mkdtemp creates 0700; a container's '/' must be traversable by non-root users.
    await fs.chmod(temp, 0o755);
    const umask = await probeUmask(temp);
    const writer = new RootfsWriter({
      root: temp,
      rootless: options.rootless ?? process.getuid?.() !== 0,
      limits: { ...defaultUnpackLimits, ...options.limits },
      umask,
      onWarning: (warning) => {
        warnings.push(warning);
        options.onWarning?.(warning);
      },
    });
    for (const [index, layer] of layers.entries()) {
      const { digest, size } = layer.descriptor;
      const report = (bytes: number, done: boolean) =>
        options.onProgress?.({ index, count: layers.length, digest, bytes, total: size, done });
      await applyLayer(layer, writer, {
        signal,
        verify: options.verify ?? false,
        onBytes: (bytes) => report(bytes, false),
      });
      report(size, true);
    }
    writer.finish();
    await commit(temp, target);
    return { rootfs: target, entries: writer.entries, bytes: writer.bytes, warnings };
  } catch (error) {
    await removeTree(temp);
    throw error;
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
async function probeUmask(dir: string): Promise<number> {
  const probe = path.join(dir, '.umask-probe');
  await fs.writeFile(probe, '', { mode: 0o777 });
  const { mode } = await fs.stat(probe);
  await fs.unlink(probe);
  return ~mode & 0o777;
}

async function exists(target: string): Promise<boolean> {
  return (await fs.lstat(target).catch(() => undefined)) !== undefined;
}
