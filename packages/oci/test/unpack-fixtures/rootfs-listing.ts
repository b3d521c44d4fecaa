import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface ListingOptions {
  /** Also list modification times (seconds). */
  mtimes?: boolean;
}

function typeOf(stat: fs.Stats): string {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'fifo';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  return 'socket';
}

/**
 * One line per path below `root`, sorted: type, relative path, permission bits (setuid/setgid masked,
 * since we drop them and umoci keeps them), owner, symlink target, sha256 of file content.
 * Two rootfs trees are equal for our purposes when their listings are equal.
 */
export function listRootfs(root: string, options: ListingOptions = {}): string[] {
  const lines: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(abs);
      const type = typeOf(stat);
      const parts = [type, relPath];
      if (type !== 'symlink') parts.push((stat.mode & 0o1777).toString(8).padStart(4, '0'));
      parts.push(`${stat.uid}:${stat.gid}`);
      if (type === 'symlink') parts.push(`-> ${fs.readlinkSync(abs)}`);
      if (type === 'file') parts.push(createHash('sha256').update(fs.readFileSync(abs)).digest('hex'));
      if (type === 'char' || type === 'block') parts.push(`rdev=${stat.rdev}`);
      if (options.mtimes) parts.push(`mtime=${Math.floor(stat.mtimeMs / 1000)}`);
      lines.push(parts.join(' '));
      if (type === 'dir') walk(abs, relPath);
    }
  };
  walk(root, '');
  return lines;
}
