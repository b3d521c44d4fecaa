import type { Stats } from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * One read-only layer of an image root stacked by overlayfs (a snapshot): its directory, and the
 * directories it marks opaque (relative to it), which hide the same directories of lower layers.
 * Whiteouts are character devices 0/0 in the layer.
 */
export interface ImageLayer {
  path: string;
  opaque?: readonly string[];
}

/** An image root: one directory, or layers stacked by overlayfs (top first). */
export type ImageRoot = string | readonly ImageLayer[];

/** The entry at `rel` as an overlay of `layers` (top first) shows it, and the layer it comes from. */
export async function findInLayers(
  layers: readonly ImageLayer[],
  rel: string,
): Promise<{ layer: ImageLayer; path: string; stat: Stats } | undefined> {
  const components = rel.split('/').filter(Boolean);
  for (const layer of layers) {
    const opaque = new Set(layer.opaque ?? []);
    let at = layer.path;
    let prefix = '';
    let hidesBelow = opaque.has('');
    let missing = false;
    for (const [i, component] of components.entries()) {
      at = join(at, component);
      prefix = prefix === '' ? component : `${prefix}/${component}`;
      const stat = await lstat(at).catch(() => undefined);
      if (!stat) {
        missing = true;
        break;
      }
      if (stat.isCharacterDevice() && stat.rdev === 0) return undefined;
      if (i === components.length - 1) return { layer, path: at, stat };
      // A file or symlink hides everything below its path in the layers under it.
      if (!stat.isDirectory()) return undefined;
      if (opaque.has(prefix)) hidesBelow = true;
    }
    if (!missing && components.length === 0) {
      const stat = await lstat(at).catch(() => undefined);
      if (stat) return { layer, path: at, stat };
    }
    if (hidesBelow) return undefined;
  }
  return undefined;
}

/**
 * Reads a file of an image rootfs as the container would see it: symlinks (absolute or
 * relative) are resolved inside the rootfs, so a hostile image cannot make us read host files.
 * `root` is one directory or a stack of layers (top first), read as overlayfs shows them.
 * Returns undefined when the file does not exist.
 */
export async function readFileInRoot(
  root: ImageRoot,
  path: string,
  maxBytes = 1 << 20,
): Promise<string | undefined> {
  const entry = async (rel: string[]) => {
    if (typeof root === 'string') {
      const host = join(root, ...rel);
      const stat = await lstat(host).catch(() => undefined);
      return stat ? { path: host, stat } : undefined;
    }
    return findInLayers(root, rel.join('/'));
  };
  let parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const found = await entry([...resolved, part]);
    if (!found) return undefined;
    if (found.stat.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = await readlink(found.path);
      if (target.startsWith('/')) resolved.length = 0;
      parts = [...target.split('/').filter(Boolean), ...parts];
      continue;
    }
    resolved.push(part);
  }
  const found = await entry(resolved);
  if (!found?.stat.isFile() || found.stat.size > maxBytes) return undefined;
  return readFile(found.path, 'utf8');
}
