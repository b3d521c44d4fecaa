import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { ProjectPaths } from '@iii/config';

/** What the worker commands need to know about a running `iii`. */
export interface RunningEngine {
  pid: number;
  address: string;
  /** The config.yaml it runs. */
  configPath: string;
}

/**
 * Whether the project's engine.json may be there. Only a sure "no such file" says no: a record this
 * user cannot even look at (a project directory root made with `sudo iii`) is not taken for a stopped
 * `iii`, and the read that follows fails with {@link unreadableEngineRecord}.
 */
export function engineRecordMayExist(project: Pick<ProjectPaths, 'engineRecord'>): boolean {
  try {
    statSync(project.engineRecord);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/** Whether `iii` runs cannot be told: the engine.json is there but cannot be read. */
export class EngineRecordUnreadableError extends Error {
  readonly code = 'ENGINE_RECORD_UNREADABLE';
  readonly hint: string;

  constructor(project: Pick<ProjectPaths, 'engineRecord' | 'dir'>, cause: unknown) {
    const errno = (cause as NodeJS.ErrnoException).code;
    const denied = errno === 'EACCES' || errno === 'EPERM';
    const reason = denied ? 'permission denied' : cause instanceof Error ? cause.message : String(cause);
    super(`cannot tell whether iii runs: cannot read ${project.engineRecord}: ${reason}`, { cause });
    this.name = 'EngineRecordUnreadableError';
    const owner = denied ? ownerOf(project.dir) : undefined;
    this.hint =
      owner !== undefined
        ? `${project.dir} belongs to ${owner} (was iii run with sudo?): run iii as ${owner}, or take it back with \`sudo chown -R ${userInfo().username} ${project.dir}\`.`
        : `Give yourself access to ${project.dir} (or run iii as its owner), then run again.`;
  }
}

/** Who owns `dir`, when that is someone else: `root` or `uid N`. */
function ownerOf(dir: string): string | undefined {
  try {
    const { uid } = statSync(dir);
    if (uid === process.getuid?.()) return undefined;
    return uid === 0 ? 'root' : `uid ${uid}`;
  } catch {
    return undefined;
  }
}

/** Rethrows the failed read of an engine.json as {@link EngineRecordUnreadableError}. */
export function unreadableEngineRecord(project: Pick<ProjectPaths, 'engineRecord' | 'dir'>) {
  return (err: unknown): never => {
    throw new EngineRecordUnreadableError(project, err);
  };
}

/**
 * The running `iii` of the project, from its `engine.json`, if its process is alive. The engine
 * package is loaded only here, on demand, so commands that merely edit config.yaml start fast.
 * A record that exists but cannot be read is an error: these commands must not act as if no `iii`
 * ran (a prune would judge its images unused).
 */
export async function runningEngine(project: ProjectPaths): Promise<RunningEngine | undefined> {
  // No engine.json, no running `iii`: said without loading the engine client (the SDK and ws).
  if (!engineRecordMayExist(project)) return undefined;
  const { readEngineRecord } = await import('@iii/engine/client');
  const record = await readEngineRecord(project).catch(unreadableEngineRecord(project));
  return record ? { pid: record.pid, address: record.address, configPath: record.configPath } : undefined;
}
