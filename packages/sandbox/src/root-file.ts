import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * Reads a file of an image rootfs as the container would see it: symlinks (absolute or
 * relative) are resolved inside the rootfs, so a hostile image cannot make us read host files.
 * Returns undefined when the file does not exist.
 */
export async function readFileInRoot(
  root: string,
  path: string,
  maxBytes = 1 << 20,
): Promise<string | undefined> {
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
    const host = join(root, ...resolved, part);
    const st = await lstat(host).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) resolved.length = 0;
      parts = [...target.split('/').filter(Boolean), ...parts];
      continue;
    }
    resolved.push(part);
  }
  const host = join(root, ...resolved);
  const st = await lstat(host).catch(() => undefined);
  if (!st?.isFile() || st.size > maxBytes) return undefined;
  return readFile(host, 'utf8');
}
