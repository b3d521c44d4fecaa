import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@iii/base';
import type { ProjectPaths } from '@iii/config';
import { releaseRootfs, workerPaths } from '@iii/sandbox/state';

/**
 * What `iii` keeps of one worker between runs, beside its sandbox files: whether the user stopped
 * it (`iii worker stop`), so it stays stopped when `iii` starts again until `iii worker start`.
 */
export interface WorkerRunState {
  /** When `iii worker stop` stopped it (RFC 3339); absent when it runs with `iii`. */
  stoppedAt?: string;
}

/** The part of a project its workers' files live in: its sandbox directory. */
type ProjectFiles = Pick<ProjectPaths, 'sandbox'>;

/** The directory of one worker's files in its project: logs, bundle, writable layer, state. */
export function workerDir(project: ProjectFiles, name: string): string {
  return workerPaths(project.sandbox, name).dir;
}

function stateFile(project: ProjectFiles, name: string): string {
  return join(workerDir(project, name), 'state.json');
}

/** What the engine recorded of a worker's last run (when it was stopped), or `{}`. */
export async function readWorkerRunState(project: ProjectFiles, name: string): Promise<WorkerRunState> {
  const text = await readFile(stateFile(project, name), 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as WorkerRunState;
    return typeof parsed.stoppedAt === 'string' ? { stoppedAt: parsed.stoppedAt } : {};
  } catch {
    return {};
  }
}

/** Records (or with `undefined`, forgets) that the user stopped the worker; atomic. */
export async function writeWorkerRunState(
  project: ProjectFiles,
  name: string,
  state: WorkerRunState,
): Promise<void> {
  const file = stateFile(project, name);
  if (state.stoppedAt === undefined) {
    await rm(file, { force: true });
    return;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
}

/** Bytes of every file below `dir` (0 when it does not exist); symlinks are not followed. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await directoryBytes(p);
    else total += (await stat(p).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/**
 * Deletes what `iii` kept of a removed worker: its sandbox directory with its logs (unless
 * `keepLogs`, which keeps only `logs/`) and its run state. A worker added again under the same
 * name then starts with logs of its own. Call it only for a worker that no longer runs.
 */
export async function removeWorkerFiles(
  project: ProjectFiles,
  name: string,
  options: { keepLogs?: boolean } = {},
): Promise<void> {
  const paths = workerPaths(project.sandbox, name);
  const dir = paths.dir;
  // Unmounted first: removing through a mounted overlay would be removing inside the worker.
  await releaseRootfs(paths.rootfsDir);
  if (!options.keepLogs) {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    entries.filter((e) => e !== 'logs').map((e) => rm(join(dir, e), { recursive: true, force: true })),
  );
}
