import type { ProjectPaths } from '@iii/config';
import {
  driversOfStateDir,
  findLeftovers,
  isRunningProcess,
  type LeftoverReport,
  readWatchdogRecord,
  removeLeftovers,
  removeWatchdogRecord,
} from '@iii/sandbox/state';
import { readEngineRecord } from './engine-record.js';
import { EngineAlreadyRunningError, ManagerError } from './errors.js';

/** A sandbox that still runs although no `iii` owns it (both `iii` and its watchdog were killed). */
export interface OrphanedWorker {
  /** The worker it runs (absent for a container id this `$III_HOME` did not name). */
  name?: string;
  containerId: string;
  runtime: string;
  /** Host pid of the sandbox's init. */
  pid: number;
}

/** What {@link cleanupOrphanedWorkers} removed: container ids and overlay mount points. */
export type CleanupReport = LeftoverReport;

/** The command that removes orphaned sandboxes, for hints. */
export const CLEANUP_COMMAND = 'iii worker cleanup';

/** The part of a project the sandbox clean-up looks at: its engine record and its sandbox directory. */
export type ProjectSandbox = Pick<ProjectPaths, 'engineRecord' | 'sandbox' | 'configPath'>;

/** Whether a live process owns the project's sandboxes (its running `iii`, or its watchdog's owner). */
async function liveOwner(project: ProjectSandbox): Promise<{ pid: number; address?: string } | undefined> {
  const engine = await readEngineRecord(project).catch(() => undefined);
  if (engine) return { pid: engine.pid, address: engine.address };
  const dog = await readWatchdogRecord(project.sandbox);
  if (dog && dog.ownerPid !== process.pid && (await isRunningProcess(dog.ownerPid)))
    return { pid: dog.ownerPid };
  return undefined;
}

/** What a killed `iii` left in `$III_HOME`. */
export interface OrphanReport {
  /** Sandboxes that still run. */
  running: OrphanedWorker[];
  /** Containers whose processes ended and overlays still mounted: state only, nothing runs. */
  stale: number;
}

/**
 * Sandboxes of the project left by its `iii` that is gone (it was killed together with its
 * watchdog). Empty when its `iii` runs (its workers are its own) or nothing was left behind. Other
 * projects' sandboxes are in other directories, under other runtime roots: never looked at.
 */
export async function findOrphanedWorkers(project: ProjectSandbox): Promise<OrphanReport> {
  if (await liveOwner(project)) return { running: [], stale: 0 };
  const stateDir = project.sandbox;
  const { containers, mounts } = await findLeftovers(stateDir, await driversOfStateDir(stateDir));
  const running = containers
    .filter((c) => c.live && c.pid !== undefined)
    .map((c) => ({
      ...(c.name !== undefined ? { name: c.name } : {}),
      containerId: c.id,
      runtime: c.runtime,
      pid: c.pid!,
    }));
  return { running, stale: containers.length - running.length + mounts.length };
}

/**
 * Stops and removes what the project's `iii` that died left: its sandboxes (containers and their
 * processes), mounted overlays and pid files. Logs stay. Refuses while its `iii` runs; other
 * projects, running or not, are not touched.
 */
export async function cleanupOrphanedWorkers(project: ProjectSandbox): Promise<CleanupReport> {
  const owner = await liveOwner(project);
  if (owner?.address) throw new EngineAlreadyRunningError(owner.pid, owner.address, project.configPath);
  if (owner) {
    throw new ManagerError(
      'SANDBOX_IN_USE',
      `the workers of ${project.configPath} belong to a running process (pid ${owner.pid})`,
      'Stop that process first; it stops its workers itself.',
    );
  }
  const stateDir = project.sandbox;
  const report = await removeLeftovers({ stateDir, drivers: await driversOfStateDir(stateDir) });
  const dog = await readWatchdogRecord(stateDir);
  if (dog && !(await isRunningProcess(dog.pid))) await removeWatchdogRecord(stateDir, dog.pid);
  return report;
}
