import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type MountEntry, readMounts } from './mountinfo.js';

/** Where a container's cgroup lives on the host, per controller we read counters from. */
export interface ContainerCgroup {
  /** Directory holding the memory controller files (v1 `memory.oom_control`, v2 `memory.events`). */
  memoryDir?: string;
  /** Directory holding CPU accounting (v1 `cpuacct.usage`, v2 `cpu.stat`). */
  cpuDir?: string;
  version: 1 | 2;
}

function parseProcCgroup(text: string): Map<string, string> {
  // "4:memory:/a/b", "1:cpu,cpuacct:/a", "0::/a" (v2)
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of (m[1] || '').split(',')) out.set(c, m[2] ?? '/');
  }
  return out;
}

/**
 * Finds the cgroup directories of a container, from its init's /proc/<pid>/cgroup when it runs,
 * else from where the runtime puts it: `cgroupsPath` (absolute, or relative to our own cgroup),
 * or without one `<our cgroup>/<id>`.
 */
export async function findContainerCgroup(target: {
  pid?: number;
  id: string;
  /** The spec's `cgroupsPath`, if it set one. */
  cgroupsPath?: string;
}): Promise<ContainerCgroup> {
  let text: string;
  let suffix = '';
  try {
    if (!target.pid) throw new Error('no pid');
    text = await readFile(`/proc/${target.pid}/cgroup`, 'utf8');
  } catch {
    text = await readFile('/proc/self/cgroup', 'utf8');
    suffix = target.cgroupsPath ?? target.id;
  }
  return locateCgroup(text, await readMounts(), suffix);
}

/**
 * Maps a /proc/<pid>/cgroup text onto the mounted hierarchies. A v1 memory or cpuacct hierarchy
 * wins (runtimes use v1 whenever one is mounted, hybrid hosts included); else the v2 one.
 * `suffix` is appended below the listed cgroup; an absolute suffix replaces it.
 */
export function locateCgroup(
  procCgroup: string,
  mounts: readonly MountEntry[],
  suffix = '',
): ContainerCgroup {
  let paths = parseProcCgroup(procCgroup);
  if (suffix.startsWith('/')) paths = new Map([...paths.keys()].map((k) => [k, '/']));
  const dirFor = (controller: string): string | undefined => {
    const v1 = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    const path = paths.get(controller);
    if (v1 && path !== undefined) return join(v1.mountPoint, relativeTo(v1.root, path), suffix);
    return undefined;
  };
  const memory = dirFor('memory');
  const cpu = dirFor('cpuacct');
  if (memory || cpu)
    return { version: 1, ...(memory ? { memoryDir: memory } : {}), ...(cpu ? { cpuDir: cpu } : {}) };
  const v2 =
    mounts.find((m) => m.fsType === 'cgroup2' && m.mountPoint === '/sys/fs/cgroup') ??
    mounts.find((m) => m.fsType === 'cgroup2');
  let path = paths.get('');
  if (!v2 || path === undefined) return { version: 2 };
  // On v2 runc places a relative path below the parent of its own cgroup, which (unlike its own,
  // by the no-internal-processes rule) can have controllers enabled for children.
  if (suffix !== '' && !suffix.startsWith('/')) path = posix.dirname(path);
  const dir = join(v2.mountPoint, relativeTo(v2.root, path), suffix);
  return { version: 2, memoryDir: dir, cpuDir: dir };
}

function relativeTo(root: string, path: string): string {
  if (root === '/' || root === '') return path;
  return path.startsWith(root) ? path.slice(root.length) || '/' : path;
}

async function readKeyed(file: string, key: string): Promise<number | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** How many processes the kernel OOM killer has killed in the cgroup; undefined if unknown. */
export async function readOomKills(cg: ContainerCgroup): Promise<number | undefined> {
  if (!cg.memoryDir) return undefined;
  return cg.version === 1
    ? readKeyed(join(cg.memoryDir, 'memory.oom_control'), 'oom_kill')
    : readKeyed(join(cg.memoryDir, 'memory.events'), 'oom_kill');
}

/** Total CPU time used by the cgroup, in nanoseconds; undefined if unknown. */
export async function readCpuUsageNs(cg: ContainerCgroup): Promise<number | undefined> {
  if (!cg.cpuDir) return undefined;
  if (cg.version === 1) {
    try {
      return Number((await readFile(join(cg.cpuDir, 'cpuacct.usage'), 'utf8')).trim());
    } catch {
      return undefined;
    }
  }
  const us = await readKeyed(join(cg.cpuDir, 'cpu.stat'), 'usage_usec');
  return us === undefined ? undefined : us * 1000;
}
