import { access, constants, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { type MountEntry, readMounts } from './mountinfo.js';
import type { IdRange, RootlessIds, SubordinateIds } from './spec.js';

/** Whether the sandbox can apply a worker's `cpus`, `memory` and pids limits, and why not. */
export type LimitsSupport = { enforced: true } | { enforced: false; reason: string; hint: string };

/** Which cgroup hierarchy the host mounts, if any. */
export type CgroupVersion = 'v1' | 'v2' | 'none';

/** How this process runs workers: as root, or rootless in a user namespace of its own ids. */
export interface SandboxMode {
  rootless: boolean;
  /** Rootless: the host ids of the sandbox's root, and the subordinate ranges mapped after it. */
  ids?: RootlessIds;
  /** Rootless without subordinate ids: why (no range, no newuidmap, the runtime failed with them). */
  singleIdReason?: string;
  cgroup: CgroupVersion;
  limits: LimitsSupport;
  /**
   * Rootless on a delegated cgroup v2 subtree: the cgroup (path below the v2 mount) that workers'
   * cgroups are made in, so that their limits apply.
   */
  cgroupParent?: string;
}

/** What a delegated cgroup v2 subtree gives rootless workers: a parent for their cgroups, or why not. */
export type CgroupDelegation = { parent: string } | { reason: string; hint: string };

/** The controllers that `cpus` and `memory` need (pids for the pids limit). */
const LIMIT_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;

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
 * Whether limits can be enforced. As root they can. Rootless, a v1 hierarchy belongs to root; a v2
 * subtree may be delegated to the user (systemd `Delegate=yes`), and then the workers' cgroups go
 * in it (`delegation`, from {@link findCgroupDelegation}).
 */
export function limitsSupport(
  rootless: boolean,
  cgroup: CgroupVersion,
  delegation?: CgroupDelegation,
): LimitsSupport {
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
  if (delegation && 'parent' in delegation) return { enforced: true };
  return delegation
    ? { enforced: false, reason: delegation.reason, hint: delegation.hint }
    : {
        enforced: false,
        reason: 'no cgroup v2 subtree is delegated to this user',
        hint: 'Run iii in a systemd user session with cgroup delegation, e.g. systemd-run --user --scope -p Delegate=yes iii, or as root',
      };
}

/**
 * Where rootless workers' cgroups can go on cgroup v2: beside our own cgroup (which holds our
 * process, so it may have no controlled children), in its parent, when that parent is ours (a
 * subtree systemd delegated to the user) and offers the cpu, memory and pids controllers. Undefined
 * when our cgroup is not ours at all. `mountPoint` is the v2 mount, `own` our cgroup path as
 * /proc/self/cgroup gives it (`0::<path>`).
 */
export async function findCgroupDelegation(
  mountPoint: string,
  own: string,
  uid: number,
): Promise<CgroupDelegation | undefined> {
  const ownsDir = async (path: string) =>
    (await stat(join(mountPoint, path)).catch(() => undefined))?.uid === uid;
  if (own === '/' || !(await ownsDir(own))) return undefined;
  const parent = dirname(own);
  if (parent === '/' || !(await ownsDir(parent))) {
    return {
      reason: `only iii's own cgroup (${own}) is delegated to this user, and it holds iii itself`,
      hint: "Start iii in a delegated unit whose parent is the user's too, e.g. systemd-run --user --scope -p Delegate=yes iii",
    };
  }
  const available = (await readFile(join(mountPoint, parent, 'cgroup.controllers'), 'utf8').catch(() => ''))
    .trim()
    .split(/\s+/);
  const missing = LIMIT_CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    return {
      reason: `the cgroup v2 subtree delegated to this user (${parent}) lacks the ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''}`,
      hint: 'Delegate them to user sessions: a drop-in for user@.service with Delegate=cpu cpuset io memory pids, then log in again',
    };
  }
  return { parent };
}

/** Our cgroup's delegation on cgroup v2 (see {@link findCgroupDelegation}). */
async function ownCgroupDelegation(
  mounts: readonly MountEntry[],
  uid: number,
): Promise<CgroupDelegation | undefined> {
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (!v2) return undefined;
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const path = /^0::(.*)$/m.exec(text)?.[1];
  if (path === undefined) return undefined;
  return findCgroupDelegation(v2.mountPoint, path, uid);
}

/** This process's sandbox mode, from its ids, its subordinate ids and the mounted cgroup hierarchies. */
export async function detectSandboxMode(): Promise<SandboxMode> {
  const own = rootlessIds();
  const mounts = await readMounts();
  const cgroup = cgroupVersion(mounts);
  const delegation =
    own !== undefined && cgroup === 'v2' ? await ownCgroupDelegation(mounts, own.uid) : undefined;
  const sub = own ? await subordinateIdsOf(own.uid) : undefined;
  const ids = own && sub?.ids ? { ...own, subordinate: sub.ids } : own;
  return {
    rootless: ids !== undefined,
    ...(ids ? { ids } : {}),
    ...(sub?.reason ? { singleIdReason: sub.reason } : {}),
    cgroup,
    limits: limitsSupport(ids !== undefined, cgroup, delegation),
    ...(delegation && 'parent' in delegation ? { cgroupParent: delegation.parent } : {}),
  };
}

/** The `start:count` ranges of /etc/subuid-style text that belong to a user (by name or uid). */
export function parseSubordinateIds(text: string, name: string | undefined, id: number): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if (who !== String(id) && (name === undefined || who !== name)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s > 0 && c > 0)
      out.push({ start: s, count: c });
  }
  return out;
}

/** The tools that write a user namespace's maps from /etc/subuid and /etc/subgid (the uidmap package). */
export const ID_MAP_TOOLS = ['newuidmap', 'newgidmap'] as const;

async function onPath(name: string): Promise<boolean> {
  const dirs = (process.env.PATH || '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  for (const dir of [...dirs, '/usr/bin']) {
    if (
      await access(join(dir, name), constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return true;
  }
  return false;
}

/**
 * The subordinate ids of this process's user, when it has uid and gid ranges and the tools that
 * map them (runc runs newuidmap/newgidmap itself when it cannot write the maps); otherwise why not.
 * Read on every call (two small files and a PATH lookup): no process-wide cache to go stale.
 */
export async function subordinateIdsOf(uid: number): Promise<{ ids?: SubordinateIds; reason?: string }> {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {}
  const [subuid, subgid] = await Promise.all([
    readFile('/etc/subuid', 'utf8').catch(() => ''),
    readFile('/etc/subgid', 'utf8').catch(() => ''),
  ]);
  const uids = parseSubordinateIds(subuid, name, uid);
  const gids = parseSubordinateIds(subgid, name, uid);
  if (uids.length === 0 || gids.length === 0) {
    return {
      reason: `${name ?? `uid ${uid}`} has no ${uids.length === 0 ? '/etc/subuid' : '/etc/subgid'} range`,
    };
  }
  for (const tool of [...ID_MAP_TOOLS, 'unshare']) {
    if (!(await onPath(tool))) return { reason: `${tool} is not installed` };
  }
  return { ids: { uids, gids } };
}
