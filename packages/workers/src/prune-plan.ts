import { access, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { IiiPaths, LockFile } from '@iii/config';
import {
  chainIds,
  type ImageStore,
  isSnapshotCommitted,
  listSnapshots,
  parseImageConfig,
  parseManifest,
  snapshotDir,
} from '@iii/oci';
import { containerId, workerPaths } from '@iii/sandbox';
import { type ImageUsage, storedManifests, TreeMeter } from './disk-usage.js';
import { lockedDigests } from './locked-digests.js';
import { type CacheUsage, listBlobs, unreferencedCache } from './store-usage.js';

/** Disk use of `$III_HOME` by part, image and worker directory (what `iii system df` shows). */
export interface DiskUsage {
  store: { path: string; bytes: number; blobs: number };
  rootfs: { path: string; bytes: number };
  /** Unpacked image layers, one snapshot per chain ID, shared by the images that have them. */
  snapshots: { path: string; bytes: number; count: number };
  sandboxes: { path: string; bytes: number };
  images: ImageUsage[];
  workers: { name: string; bytes: number; logs: number; configured: boolean; prunable: boolean }[];
  /**
   * What a prune frees: `images` (blobs, unpacked trees and snapshots no kept image needs),
   * `merged` (of those, the merged trees of kept images now run on their snapshots), `sandboxes`.
   */
  reclaimable: { images: number; merged: number; sandboxes: number; total: number };
}

/** A worker's sandbox directory that no worker of config.yaml has and nothing runs in. */
export interface StaleSandbox {
  name: string;
  path: string;
  bytes: number;
}

/** What `iii worker prune` deletes: cached images no pin needs, and sandboxes of removed workers. */
export interface PrunePlan {
  cache: CacheUsage;
  sandboxes: StaleSandbox[];
  bytes: number;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Worker directories under `sandbox/workers`. */
async function workerDirs(paths: IiiPaths): Promise<string[]> {
  return (await readdir(join(paths.sandbox, 'workers')).catch(() => [] as string[])).filter((n) => {
    try {
      workerPaths(paths.sandbox, n);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether a container of the worker exists for any runtime (it runs, or a crash left it). */
async function hasContainer(paths: IiiPaths, name: string): Promise<boolean> {
  const id = containerId(paths.sandbox, name);
  for (const runtime of await readdir(join(paths.sandbox, 'runtime')).catch(() => [] as string[])) {
    if (await exists(join(paths.sandbox, 'runtime', runtime, id))) return true;
  }
  return false;
}

/**
 * The sandbox directories `prune` may delete: of workers config.yaml no longer has, with no
 * container (a worker removed from config.yaml by hand that still runs keeps its directory).
 */
export async function staleSandboxes(
  paths: IiiPaths,
  configured: ReadonlySet<string>,
): Promise<StaleSandbox[]> {
  const out: StaleSandbox[] = [];
  for (const name of await workerDirs(paths)) {
    if (configured.has(name) || (await hasContainer(paths, name))) continue;
    const path = workerPaths(paths.sandbox, name).dir;
    out.push({ name, path, bytes: await new TreeMeter().size(path) });
  }
  return out;
}

/** How mountinfo writes a path: space, tab, newline and backslash as octal escapes. */
function mountinfoEscaped(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * The merged trees under `rootfsDir` that an overlay mount stacks, in every mount namespace this
 * process may read: the host's, and those of sandboxes whose runtime mounted their root inside
 * (rootless). A worker whose `iii` died still runs on what its overlay stacks.
 */
export async function mountedTrees(rootfsDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  const prefix = mountinfoEscaped(rootfsDir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tree = new RegExp(`${prefix}/([a-f0-9]{64})(?=[:,\\s]|$)`, 'g');
  const seen = new Set<string>();
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  for (const pid of ['self', ...pids]) {
    const ns = await readlink(`/proc/${pid}/ns/mnt`).catch(() => undefined);
    if (!ns || seen.has(ns)) continue;
    seen.add(ns);
    const text = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes(' - overlay ')) continue;
      for (const m of line.matchAll(tree)) out.add(join(rootfsDir, m[1] as string));
    }
  }
  return out;
}

/**
 * Computes a {@link PrunePlan}: what a prune may delete, keeping the images of `keep` and of
 * configured workers. With `rootfsInUse` (the image roots running workers use), the merged trees of
 * kept images whose layers are all snapshots go too, unless a running worker still runs on one.
 */
export async function prunePlan(options: {
  paths: IiiPaths;
  store: ImageStore;
  keep: Iterable<string>;
  configured: ReadonlySet<string>;
  rootfsInUse?: ReadonlySet<string>;
}): Promise<PrunePlan> {
  // Mounted merged trees stay too, whoever mounted them (a worker whose `iii` died runs on).
  const rootfsInUse = options.rootfsInUse
    ? new Set([...options.rootfsInUse, ...(await mountedTrees(options.paths.rootfs))])
    : undefined;
  const cache = await unreferencedCache(
    options.store,
    options.paths.rootfs,
    options.keep,
    options.paths.snapshots,
    rootfsInUse,
  );
  const sandboxes = await staleSandboxes(options.paths, options.configured);
  return { cache, sandboxes, bytes: cache.bytes + sandboxes.reduce((n, s) => n + s.bytes, 0) };
}

/** Everything of `iii system df` but the total: the parts, each image and each worker directory. */
export async function diskUsage(options: {
  paths: IiiPaths;
  store: ImageStore;
  workers: readonly { name: string }[];
  lock: LockFile | undefined;
  /** More images a prune keeps (other projects' pins, what running workers use). */
  keep?: Iterable<string>;
  /** The image roots running workers use, when known (see {@link prunePlan}). */
  rootfsInUse?: ReadonlySet<string>;
}): Promise<DiskUsage> {
  const { paths, store } = options;
  const pins = options.lock?.workers ?? {};
  const configured = new Set(options.workers.map((w) => w.name));
  const plan = await prunePlan({
    paths,
    store,
    keep: [...(options.lock ? lockedDigests(options.lock) : []), ...(options.keep ?? [])],
    configured,
    ...(options.rootfsInUse ? { rootfsInUse: options.rootfsInUse } : {}),
  });
  const prunableBlobs = new Set(plan.cache.blobs.map((b) => b.digest));
  const manifests = await storedManifests(store);
  const users = new Map<string, number>();
  for (const m of manifests) for (const b of m.blobs) users.set(b.digest, (users.get(b.digest) ?? 0) + 1);
  const names = new Map<string, string[]>();
  for (const e of await store.list()) {
    if (!e.name) continue;
    names.set(e.descriptor.digest, [...(names.get(e.descriptor.digest) ?? []), e.name]);
  }
  const images = [];
  for (const m of manifests) {
    const rootfs = join(paths.rootfs, m.digest.replace(/^sha256:/, ''));
    const unpacked = (await exists(rootfs))
      ? await new TreeMeter().size(rootfs)
      : await snapshotsSize(store, m.digest, paths.snapshots);
    images.push({
      digest: m.digest,
      names: names.get(m.digest) ?? [],
      compressed: m.blobs.reduce((n, b) => n + b.size, 0),
      unpacked,
      shared: m.blobs.filter((b) => (users.get(b.digest) ?? 0) > 1).reduce((n, b) => n + b.size, 0),
      workers: Object.entries(pins)
        .filter(([, p]) => p.digest === m.digest)
        .map(([n]) => n)
        .sort(),
      previousOf: Object.entries(pins)
        .filter(([, p]) => p.previous?.digest === m.digest)
        .map(([n]) => n)
        .sort(),
      prunable: prunableBlobs.has(m.digest),
    });
  }
  const stale = new Set(plan.sandboxes.map((s) => s.name));
  const workers = [];
  for (const name of (await workerDirs(paths)).sort()) {
    const p = workerPaths(paths.sandbox, name);
    workers.push({
      name,
      bytes: await new TreeMeter().size(p.dir),
      logs: await new TreeMeter().size(p.logs),
      configured: configured.has(name),
      prunable: stale.has(name),
    });
  }
  const sandboxesDir = join(paths.sandbox, 'workers');
  const sandboxBytes = plan.sandboxes.reduce((n, s) => n + s.bytes, 0);
  return {
    store: {
      path: paths.store,
      bytes: await new TreeMeter().size(paths.store),
      blobs: (await listBlobs(store)).length,
    },
    rootfs: { path: paths.rootfs, bytes: await new TreeMeter().size(paths.rootfs) },
    snapshots: {
      path: paths.snapshots,
      bytes: await new TreeMeter().size(paths.snapshots),
      count: (await listSnapshots(paths.snapshots)).length,
    },
    sandboxes: { path: sandboxesDir, bytes: await new TreeMeter().size(sandboxesDir) },
    images,
    workers,
    reclaimable: {
      images: plan.cache.bytes,
      merged: plan.cache.rootfs.filter((r) => r.superseded).reduce((n, r) => n + r.size, 0),
      sandboxes: sandboxBytes,
      total: plan.bytes,
    },
  };
}

/** Bytes of an image's layer snapshots (each whole, shared or not), or null when not all are there. */
async function snapshotsSize(
  store: ImageStore,
  digest: string,
  snapshotsDir: string,
): Promise<number | null> {
  try {
    const parsed = parseManifest(await readFile(store.blobPath(digest)));
    if (parsed.kind !== 'manifest') return null;
    const config = parseImageConfig(await readFile(store.blobPath(parsed.manifest.config.digest)));
    let total = 0;
    for (const id of chainIds(config.rootfs.diff_ids)) {
      const dir = snapshotDir(snapshotsDir, id);
      if (!(await isSnapshotCommitted(snapshotsDir, id))) return null;
      total += await new TreeMeter().size(dir);
    }
    return total;
  } catch {
    return null;
  }
}
