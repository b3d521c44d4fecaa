import { readFile } from 'node:fs/promises';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  /** Path of the mount's root inside its filesystem (e.g. the cgroup directory a cgroup mount exposes). */
  root: string;
  superOptions: string[];
  /** Options of this mount itself (`rw`, `nosuid`, `relatime`...), as opposed to its file system's. */
  options: string[];
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo (or the given text). */
export async function readMounts(text?: string): Promise<MountEntry[]> {
  const src = text ?? (await readFile('/proc/self/mountinfo', 'utf8'));
  const out: MountEntry[] = [];
  for (const line of src.split('\n')) {
    if (!line) continue;
    const [left = '', right = ''] = line.split(' - ');
    const l = left.split(' ');
    const r = right.split(' ');
    out.push({
      root: unescapeOctal(l[3] ?? ''),
      mountPoint: unescapeOctal(l[4] ?? ''),
      fsType: r[0] ?? '',
      source: unescapeOctal(r[1] ?? ''),
      superOptions: (r[2] ?? '').split(','),
      options: (l[5] ?? '').split(','),
    });
  }
  return out;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === path);
}

/** The mount holding `path` (the longest mount point above it). */
export function mountOf(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

const LOCKABLE = new Set(['nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'relatime', 'strictatime']);

/**
 * The options of a mount that a user namespace cannot clear on a bind of it: the kernel locks
 * them, and a read-only remount without them fails with EPERM.
 */
export function lockedMountFlags(mount: MountEntry | undefined): string[] {
  return (mount?.options ?? []).filter((o) => LOCKABLE.has(o));
}
