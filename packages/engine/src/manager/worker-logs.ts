import { stat } from 'node:fs/promises';
import type { ProjectPaths } from '@iii/config';
import { type LogLine, type ReadLogsOptions, readLogs, workerPaths } from '@iii/sandbox';
import { UnknownWorkerError } from './errors.js';

export { escapeControlCharacters, type LogLine } from '@iii/sandbox';

/** The part of a project its workers' logs live in. */
type ProjectLogs = Pick<ProjectPaths, 'sandbox'>;

/** Where a worker's rotating log files are, in its project's sandbox directory. */
export function workerLogsDir(project: ProjectLogs, name: string): string {
  return workerPaths(project.sandbox, name).logs;
}

/**
 * Whether the worker has ever been started in this project: its log directory is made when its
 * sandbox first starts, so a worker only added to config.yaml has none.
 */
export async function workerHasStarted(project: ProjectLogs, name: string): Promise<boolean> {
  return (await stat(workerLogsDir(project, name)).catch(() => undefined))?.isDirectory() === true;
}

/**
 * A worker's captured output, both streams in capture order, read from its log files: it works
 * whether the worker or `iii` runs or not, and with `follow` goes on across restarts and rotation.
 * `known` says whether config.yaml has the worker; one with neither config entry nor logs is an error.
 */
export async function workerLogs(
  project: ProjectLogs,
  name: string,
  options: ReadLogsOptions & { known?: boolean } = {},
): Promise<AsyncGenerator<LogLine>> {
  const dir = workerLogsDir(project, name);
  const exists = (await stat(dir).catch(() => undefined))?.isDirectory() === true;
  if (!exists && options.known === false) throw new UnknownWorkerError(name);
  const { known: _known, ...read } = options;
  return readLogs(dir, read);
}
