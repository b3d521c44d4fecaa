import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RootfsError } from './errors.js';
import { readMounts } from './mountinfo.js';
import type { OverlayLayers } from './spec.js';
import { inUserNamespace, type MappedIds, removeMappedTree } from './userns.js';

const run = promisify(execFile);

/** How a worker's root filesystem is made: an overlay over the image rootfs, or a private copy. */
export type RootfsMode = 'overlay' | 'copy';

/** Options of {@link prepareRootfs}: the image rootfs, the worker's directory and the mode. */
export interface PrepareRootfsOptions {
  /**
   * The shared, cached image rootfs, or its layers (snapshots, top first) for overlayfs to stack.
   * Never written to. Layers can only be stacked, not copied.
   */
  image: string | readonly string[];
  /** The layers are in the user-namespace format (`user.overlay.*` xattrs): mount with `userxattr`. */
  userxattr?: boolean;
  /** The worker's own directory for the writable layer; `merged` inside it becomes the container root. */
  dir: string;
  /** `auto` (default) tries overlayfs and falls back to a private copy. */
  mode?: 'auto' | RootfsMode;
  /** Aborts a long copy. */
  signal?: AbortSignal;
  /**
   * Who mounts the overlay: `host` (default) mounts it here, which needs root; `runtime` only
   * prepares the layers for the runtime to mount inside the sandbox's user namespace (rootless).
   */
  overlayMountedBy?: 'host' | 'runtime';
  /**
   * Rootless with subordinate ids: a copy is made as root of a user namespace with these maps, so
   * it keeps the image's owners (which the caller cannot read or set from outside).
   */
  copyInUserNamespace?: MappedIds;
}

/** A worker's root filesystem as {@link prepareRootfs} made it: its path, mode and overlay layers. */
export interface PreparedRootfs {
  /** The directory to use as the container root. */
  path: string;
  mode: RootfsMode;
  /** Why overlayfs was not used, when `auto` fell back to a copy. */
  fallbackReason?: string;
  /** With `overlayMountedBy: 'runtime'`: the layers the runtime mounts at `path`. */
  overlay?: OverlayLayers;
}

/**
 * Gives a worker a private writable root: an overlay with the image rootfs as read-only lower
 * layer and a per-worker upper layer, or a full copy where overlayfs cannot be mounted (some
 * kernels, nested containers, rootless). Either way workers never see each other's writes.
 */
export async function prepareRootfs(options: PrepareRootfsOptions): Promise<PreparedRootfs> {
  const dir = resolve(options.dir);
  const lowers =
    typeof options.image === 'string' ? [resolve(options.image)] : options.image.map((l) => resolve(l));
  const stacked = typeof options.image !== 'string';
  const mode = stacked ? 'overlay' : (options.mode ?? 'auto');
  const userxattr = options.userxattr === true;
  await releaseRootfs(dir);
  const merged = join(dir, 'merged');
  let fallbackReason: string | undefined;

  if (mode !== 'copy' && options.overlayMountedBy === 'runtime') {
    return { path: merged, mode: 'overlay', overlay: await overlayLayers(lowers, dir, userxattr) };
  }
  if (mode !== 'copy') {
    try {
      await mountOverlay(lowers, dir, userxattr);
      return { path: merged, mode: 'overlay' };
    } catch (err) {
      if (mode === 'overlay') throw err;
      fallbackReason = (err as Error).message;
      await releaseRootfs(dir);
    }
  }
  const image = lowers[0] as string;

  await mkdir(merged, { recursive: true, mode: 0o755 });
  try {
    // cp -a keeps owners, modes, symlinks and hard links as the image has them.
    const cp = ['cp', '-a', '--reflink=auto', `${image}/.`, `${merged}/`] as const;
    if (options.copyInUserNamespace) {
      options.signal?.throwIfAborted();
      await inUserNamespace(options.copyInUserNamespace, cp).catch((err: Error) => {
        throw Object.assign(err, { stderr: err.message });
      });
    } else {
      await run(cp[0], cp.slice(1), {
        maxBuffer: 1 << 20,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
  } catch (err) {
    if (options.signal?.aborted) {
      await releaseRootfs(dir);
      throw options.signal.reason ?? err;
    }
    throw new RootfsError(
      `Copying the image rootfs failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`,
      'Check free disk space under the iii state directory',
      { cause: err },
    );
  }
  return { path: merged, mode: 'copy', ...(fallbackReason ? { fallbackReason } : {}) };
}

/**
 * Where a worker overlay's layers are: the image rootfs, or its layers (top first), below; the
 * worker's own `upper` and `work`.
 */
export function overlayLayersOf(
  image: string | readonly string[],
  dir: string,
  userxattr = false,
): OverlayLayers {
  const lowers = typeof image === 'string' ? [image] : image;
  return {
    lower: lowers.map((l) => resolve(l)).join(':'),
    upper: join(resolve(dir), 'upper'),
    work: join(resolve(dir), 'work'),
    ...(userxattr ? { userxattr: true } : {}),
  };
}

/** overlayfs stacks at most this many lower layers (`OVL_MAX_STACK`). */
export const OVERLAY_MAX_LOWERS = 500;
/** The mount options of an overlay must fit in one page with the classic mount(2) call. */
const MOUNT_OPTIONS_MAX = 4095;

/** The mount option string of a worker overlay, as the host or the runtime passes it. */
export function overlayMountOptions(layers: OverlayLayers): string {
  return [
    `lowerdir=${layers.lower}`,
    `upperdir=${layers.upper}`,
    `workdir=${layers.work}`,
    ...(layers.userxattr ? ['userxattr'] : []),
  ].join(',');
}

/**
 * Why overlayfs cannot stack `lowers` (top first) for a worker in `dir`, or undefined when it can:
 * more layers than the kernel stacks, or mount options longer than a page.
 */
export function overlayStackProblem(
  lowers: readonly string[],
  dir: string,
  userxattr = false,
): string | undefined {
  if (lowers.length > OVERLAY_MAX_LOWERS) {
    return `the image has ${lowers.length} layers, more than the ${OVERLAY_MAX_LOWERS} overlayfs can stack`;
  }
  const length = overlayMountOptions(overlayLayersOf(lowers, dir, userxattr)).length;
  if (length > MOUNT_OPTIONS_MAX) {
    return `the overlay options of its ${lowers.length} layers take ${length} bytes, more than the ${MOUNT_OPTIONS_MAX} a mount accepts`;
  }
  return undefined;
}

/** Creates the upper, work and mount point directories of a worker overlay. */
async function overlayLayers(
  lowers: readonly string[],
  dir: string,
  userxattr: boolean,
): Promise<OverlayLayers> {
  // The kernel splits overlay options on ',' and ':'; such paths cannot be passed safely.
  const bad = [...lowers, dir].find((p) => /[,:\\]/.test(p));
  if (bad !== undefined) {
    throw new RootfsError(
      `Path not usable as an overlay layer: ${bad}`,
      'Use a state directory without ",", ":" or "\\" in its path',
    );
  }
  const problem = lowers.length > 1 ? overlayStackProblem(lowers, dir, userxattr) : undefined;
  if (problem)
    throw new RootfsError(
      `Cannot stack the image layers: ${problem}`,
      'Use the merged image rootfs for this image',
    );
  const layers = overlayLayersOf(lowers, dir, userxattr);
  await mkdir(layers.upper, { recursive: true, mode: 0o755 });
  await mkdir(layers.work, { recursive: true, mode: 0o700 });
  await mkdir(join(dir, 'merged'), { recursive: true, mode: 0o755 });
  return layers;
}

async function mountOverlay(lowers: readonly string[], dir: string, userxattr: boolean): Promise<void> {
  const layers = await overlayLayers(lowers, dir, userxattr);
  const merged = join(dir, 'merged');
  try {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', overlayMountOptions(layers), merged]);
  } catch (err) {
    throw new RootfsError(
      `Mounting the worker overlay failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`,
      'Use a kernel with overlayfs, or let the sandbox copy the rootfs (mode "copy"); `iii system check` shows what this host supports',
      { cause: err },
    );
  }
}

async function mounted(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === path);
}

async function unmount(path: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await run('umount', [path]);
      return;
    } catch {
      // Someone else (a concurrent cleanup) may have unmounted it already.
      if (!(await mounted(path))) return;
      if (attempt === 4) {
        // Still busy (a process we do not control holds it): detach it so the directory can go.
        await run('umount', ['-l', path]).catch(async (e: unknown) => {
          if (await mounted(path)) throw e;
        });
        return;
      }
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}

/**
 * Unmounts the worker's overlay (and anything mounted below it) and removes its writable
 * layer. Safe to call when nothing is mounted or the directory does not exist.
 */
export async function releaseRootfs(dir: string): Promise<void> {
  const abs = resolve(dir);
  const mounts = (await readMounts())
    .map((m) => m.mountPoint)
    .filter((p) => p === abs || p.startsWith(`${abs}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await unmount(m);
  await removeOwnTree(abs);
}

/**
 * Removes a tree we own. Without root, directories we may not write or list (the overlay's
 * `work/work`, which the kernel creates with mode 000, or read-only directories of a copied
 * image) must first be made writable to their owner.
 */
async function removeOwnTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    // Files a worker made as another user of its sandbox belong to a subordinate id on the host.
    if (await removeMappedTree(path).catch(() => false)) return;
    // chmod -R does not follow symbolic links met in the tree.
    await run('chmod', ['-R', 'u+rwX', path]).catch(() => {});
    await rm(path, { recursive: true, force: true });
  }
}
