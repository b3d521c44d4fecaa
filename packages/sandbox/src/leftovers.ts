import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { removeLeftoverCgroups } from './leftover-cgroups.js';
import { readMounts } from './mountinfo.js';
import { containerId, workerPaths } from './paths.js';
import { isRunningProcess } from './process-table.js';
import { releaseRootfs } from './rootfs.js';
import type { ContainerStatus, RuntimeDriver } from './runtime/driver.js';
import { findRuntimeProcesses } from './runtime/runtime-processes.js';

/** What {@link removeLeftovers} removed. */
export interface LeftoverReport {
  containers: string[];
  mounts: string[];
  /** Cgroup directories of its containers that were left behind. */
  cgroups: string[];
}

/** A container found in a sandbox state directory. */
export interface LeftoverContainer {
  id: string;
  /** The worker it runs, when the id is one of this state directory's. */
  name?: string;
  runtime: string;
  status: ContainerStatus;
  /** Host pid of its init while it runs. */
  pid?: number;
  /** Whether its init process still runs. */
  live: boolean;
}

/** What a sandbox state directory holds without a sandbox that owns it. */
export interface Leftovers {
  containers: LeftoverContainer[];
  /** Worker overlays still mounted. */
  mounts: string[];
}

/** Options of {@link removeLeftovers}: the state directory, the runtime roots to clear, the workers to keep. */
export interface RemoveLeftoversOptions {
  stateDir: string;
  /** Drivers of the runtime roots to clear (a state directory has one per runtime used). */
  drivers: readonly RuntimeDriver[];
  /** Workers (by name) of a live sandbox: their containers, processes and overlays are kept. */
  keep?: ReadonlySet<string>;
}

/** The worker name a container id of this state directory stands for. */
export function workerNameOf(stateDir: string, id: string): string | undefined {
  const prefix = containerId(stateDir, 'x').slice(0, -1);
  return id.startsWith(prefix) ? id.slice(prefix.length) : undefined;
}

async function workerNames(stateDir: string): Promise<string[]> {
  const names = await readdir(join(resolve(stateDir), 'workers')).catch(() => [] as string[]);
  return names.filter((n) => {
    try {
      workerPaths(stateDir, n);
      return true;
    } catch {
      return false;
    }
  });
}

/** Containers and mounted overlays in a state directory, whoever started them. */
export async function findLeftovers(stateDir: string, drivers: readonly RuntimeDriver[]): Promise<Leftovers> {
  const containers: LeftoverContainer[] = [];
  for (const driver of drivers) {
    for (const c of await driver.list()) {
      const name = workerNameOf(stateDir, c.id);
      const running = c.status !== 'stopped' && c.pid > 0 && (await isRunningProcess(c.pid));
      containers.push({
        id: c.id,
        ...(name !== undefined ? { name } : {}),
        runtime: driver.name,
        status: c.status,
        ...(running ? { pid: c.pid } : {}),
        live: running,
      });
    }
  }
  const mounted = new Set((await readMounts()).map((m) => m.mountPoint));
  const mounts = (await workerNames(stateDir))
    .map((n) => workerPaths(stateDir, n).rootfs)
    .filter((p) => mounted.has(p));
  return { containers, mounts };
}

/**
 * Removes what a sandbox that is gone left in its state directory: runtime processes still starting
 * a container, containers (killed, deleted), mounted overlays and pid files. Logs stay. Containers
 * are handled in parallel: this runs when an engine died, and its workers must stop promptly.
 */
export async function removeLeftovers(options: RemoveLeftoversOptions): Promise<LeftoverReport> {
  const { stateDir, drivers } = options;
  const keep = options.keep ?? new Set<string>();
  const keepIds = new Set([...keep].map((n) => containerId(stateDir, n)));
  const report: LeftoverReport = { containers: [], mounts: [], cgroups: [] };
  // A second pass catches a container that a runtime process finished creating meanwhile.
  for (let pass = 0; pass < 3; pass++) {
    let found = 0;
    for (const driver of drivers) {
      for (const p of await findRuntimeProcesses(driver)) {
        if (keepIds.has(p.id)) continue;
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {}
      }
      const ids = (await driver.list()).map((c) => c.id).filter((id) => !keepIds.has(id));
      found += ids.length;
      await Promise.all(
        ids.map(async (id) => {
          // Rootless containers have no cgroup to list processes from (`--all` fails there);
          // killing init ends the whole pid namespace.
          await driver
            .kill(id, 'SIGKILL', { all: true })
            .catch(() => driver.kill(id, 'SIGKILL'))
            .catch(() => false);
          await driver.delete(id, { force: true });
          if (!report.containers.includes(id)) report.containers.push(id);
        }),
      );
    }
    if (found === 0) break;
  }
  const mounted = new Set((await readMounts()).map((m) => m.mountPoint));
  await Promise.all(
    (await workerNames(stateDir))
      .filter((n) => !keep.has(n))
      .map(async (n) => {
        const p = workerPaths(stateDir, n);
        if (mounted.has(p.rootfs)) report.mounts.push(p.rootfs);
        await releaseRootfs(p.rootfsDir);
        await rm(p.run, { recursive: true, force: true });
      }),
  );
  // Containers are deleted by now: a cgroup of one of them that is still there was left behind.
  report.cgroups = await removeLeftoverCgroups(stateDir, keepIds);
  await rm(join(resolve(stateDir), 'probe'), { recursive: true, force: true });
  return report;
}
