import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MountEntry, readMounts } from './mountinfo.js';
import type { RootlessIds } from './spec.js';

/** Whether the sandbox can apply a worker's `cpus`, `memory` and pids limits, and why not. */
export type LimitsSupport = { enforced: true } | { enforced: false; reason: string; hint: string };

export type CgroupVersion = 'v1' | 'v2' | 'none';

/** How this process runs workers: as root, or rootless in a user namespace of its own ids. */
export interface SandboxMode {
  rootless: boolean;
  /** Rootless: the host ids the sandbox's user is (a single-id map). */
  ids?: RootlessIds;
  cgroup: CgroupVersion;
  limits: LimitsSupport;
}

/** Rootless exactly when we are not root: only root may mount on the host and write cgroups. */
export function rootlessIds(): RootlessIds | undefined {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || gid === undefined || uid === 0) return undefined;
  return { uid, gid };
}

const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'memory', 'pids', 'cpuset', 'blkio', 'devices', 'freezer']);

/**
 * The cgroup version runtimes use here: v1 as soon as a v1 hierarchy with a controller is
 * mounted (hybrid hosts keep an empty v2 mount beside it), else v2.
 */
export function cgroupVersion(mounts: readonly MountEntry[]): CgroupVersion {
  if (mounts.some((m) => m.fsType === 'cgroup' && m.superOptions.some((o) => V1_CONTROLLERS.has(o))))
    return 'v1';
  if (mounts.some((m) => m.fsType === 'cgroup2')) return 'v2';
  return 'none';
}

/**
 * Whether limits can be enforced. As root they can. Rootless, a v1 hierarchy belongs to root; a
 * v2 subtree may be delegated to the user (systemd `Delegate=yes`), which the sandbox does not
 * use yet, so limits are not enforced there either. `delegated` says whether our own v2 cgroup is
 * writable, to point at the right fix.
 */
export function limitsSupport(rootless: boolean, cgroup: CgroupVersion, delegated = false): LimitsSupport {
  if (!rootless) return { enforced: true };
  if (cgroup === 'v1') {
    return {
      enforced: false,
      reason: 'cgroups here are v1, whose hierarchies only root may write',
      hint: 'Run iii as root to enforce cpus and memory limits, or boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1)',
    };
  }
  if (cgroup === 'none') {
    return {
      enforced: false,
      reason: 'no cgroup hierarchy is mounted',
      hint: 'Mount cgroup2 on /sys/fs/cgroup, or run iii as root',
    };
  }
  return delegated
    ? {
        enforced: false,
        reason: 'a cgroup v2 subtree is delegated to this user, but rootless sandboxes do not use it yet',
        hint: 'Run iii as root to enforce cpus and memory limits',
      }
    : {
        enforced: false,
        reason: 'no cgroup v2 subtree is delegated to this user',
        hint: 'Run iii in a systemd user session with cgroup delegation (Delegate=yes), or as root',
      };
}

/** Whether our own cgroup v2 directory is writable by us (a delegated subtree). */
async function ownCgroupWritable(mounts: readonly MountEntry[]): Promise<boolean> {
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (!v2) return false;
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const path = /^0::(.*)$/m.exec(text)?.[1];
  if (path === undefined) return false;
  return access(join(v2.mountPoint, path, 'cgroup.procs'), constants.W_OK).then(
    () => true,
    () => false,
  );
}

/** This process's sandbox mode, from its ids and the mounted cgroup hierarchies. */
export async function detectSandboxMode(): Promise<SandboxMode> {
  const ids = rootlessIds();
  const mounts = await readMounts();
  const cgroup = cgroupVersion(mounts);
  const delegated = ids !== undefined && cgroup === 'v2' && (await ownCgroupWritable(mounts));
  return {
    rootless: ids !== undefined,
    ...(ids ? { ids } : {}),
    cgroup,
    limits: limitsSupport(ids !== undefined, cgroup, delegated),
  };
}
