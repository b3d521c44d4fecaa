import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isProcessAlive, READ_ONCE, withFileLock, writeFileAtomic } from '@iii/base';
import { type ProjectPaths, projectsDir } from '@iii/config';
import * as z from 'zod';
import { EngineAlreadyRunningError } from './errors.js';

/**
 * `$III_HOME/projects/<project>/engine.json`: how the other commands find the `iii` that runs their
 * project. It is a hint, not a lock: a record whose pid is dead (a crash, a kill -9) is stale and
 * ignored.
 */
export const engineRecordSchema = z.object({
  pid: z.number().int().positive(),
  /** The project's name (its directory's, or `--project-name`). */
  project: z.string().optional(),
  /** WebSocket address workers and the CLI connect to, e.g. `ws://127.0.0.1:49134`. */
  address: z.string().min(1),
  host: z.string(),
  port: z.number().int().nonnegative(),
  configPath: z.string(),
  startedAt: z.string(),
  /** The sandbox state directory of its workers (bundles, runtime root, logs). */
  sandboxDir: z.string().optional(),
  /**
   * The management token: presented as `Authorization: Bearer <token>`, it lets a client call the
   * owner-only `iii::workers::*` functions. Only the owner can read this file (0600 in a 0700 dir).
   */
  token: z.string().min(1).optional(),
});

/** The running engine's record (`engine.json` of its project): pid, address, config, token. */
export type EngineRecord = z.infer<typeof engineRecordSchema>;

/** Where a project's engine record is: what the engine functions take instead of a whole project. */
export type EngineRecordLocation = Pick<ProjectPaths, 'engineRecord'>;

/** True when a process with this pid exists (EPERM means it exists but is not ours). */
export { isProcessAlive } from '@iii/base';

/**
 * The record of the running engine, or undefined when there is none, it is unreadable, or its
 * process is gone.
 */
export async function readEngineRecord(
  project: EngineRecordLocation,
  alive: (pid: number) => boolean = isProcessAlive,
): Promise<EngineRecord | undefined> {
  return readRecordAt(project.engineRecord, alive);
}

async function readRecordAt(
  path: string,
  alive: (pid: number) => boolean,
): Promise<EngineRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // A torn or hand-edited file cannot point at a live engine; treat it like a stale one.
    return undefined;
  }
  const parsed = engineRecordSchema.safeParse(json, READ_ONCE);
  if (!parsed.success) return undefined;
  return alive(parsed.data.pid) ? parsed.data : undefined;
}

/**
 * Writes the record atomically (temp file + rename) so a reader never sees half of it. It holds the
 * management token, so the file is 0600 and its directory 0700 whatever was there before.
 */
export async function writeEngineRecord(project: EngineRecordLocation, record: EngineRecord): Promise<void> {
  const path = project.engineRecord;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await chmod(dirname(path), 0o700);
  // Its own mode whatever the file had: the record holds the engine's management token.
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the record only if it is still the one of `pid` (a newer engine may have replaced it). */
export async function removeEngineRecord(project: EngineRecordLocation, pid: number): Promise<void> {
  const path = project.engineRecord;
  try {
    const current = engineRecordSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    if (current.success && current.data.pid !== pid) return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
  }
  await rm(path, { force: true });
}

/**
 * Records this process as the project's `iii`, unless another live one already runs it: the check
 * and the write happen under the project's lock, so two `iii` started at once for one project cannot
 * both win. Other projects are not looked at.
 */
export async function claimProject(
  project: Pick<ProjectPaths, 'engineRecord' | 'engineLock' | 'dir'>,
  record: EngineRecord,
): Promise<void> {
  await mkdir(project.dir, { recursive: true, mode: 0o700 });
  await withFileLock(
    project.engineLock,
    async () => {
      const other = await readEngineRecord(project);
      if (other && other.pid !== record.pid) {
        throw new EngineAlreadyRunningError(other.pid, other.address, other.configPath);
      }
      await writeEngineRecord(project, record);
    },
    { timeoutMs: 10_000, hint: 'Another iii is starting the engine of this project; wait for it to finish.' },
  );
}

/** A running project's record, with the directory it was found in. */
export interface RunningProject extends EngineRecord {
  /** The project's directory name under `$III_HOME/projects`. */
  key: string;
}

/** The `iii` engines that run now with this `$III_HOME`, one per project, oldest first. */
export async function listEngineRecords(
  home: string,
  alive: (pid: number) => boolean = isProcessAlive,
): Promise<RunningProject[]> {
  const dir = projectsDir(home);
  const keys = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: RunningProject[] = [];
  for (const key of keys.sort()) {
    const record = await readRecordAt(join(dir, key, 'engine.json'), alive).catch(() => undefined);
    if (record) out.push({ ...record, key });
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
