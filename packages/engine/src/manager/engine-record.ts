import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { iiiPaths } from '@iii/config';
import { z } from 'zod';

/**
 * `$III_HOME/run/engine.json`: how the other commands find the running `iii`. It is a hint, not a
 * lock: a record whose pid is dead (a crash, a kill -9) is stale and ignored.
 */
export const engineRecordSchema = z.object({
  pid: z.number().int().positive(),
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

export type EngineRecord = z.infer<typeof engineRecordSchema>;

export function engineRecordPath(home: string): string {
  return iiiPaths({ env: { III_HOME: home } }).engineRecord;
}

/** True when a process with this pid exists (EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The record of the running engine, or undefined when there is none, it is unreadable, or its
 * process is gone.
 */
export async function readEngineRecord(
  home: string,
  alive: (pid: number) => boolean = isProcessAlive,
): Promise<EngineRecord | undefined> {
  let text: string;
  try {
    text = await readFile(engineRecordPath(home), 'utf8');
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
  const parsed = engineRecordSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return alive(parsed.data.pid) ? parsed.data : undefined;
}

/**
 * Writes the record atomically (temp file + rename) so a reader never sees half of it. It holds the
 * management token, so the file is 0600 and its directory 0700 whatever was there before.
 */
export async function writeEngineRecord(home: string, record: EngineRecord): Promise<void> {
  const path = engineRecordPath(home);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await chmod(dirname(path), 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  // A temp file left by a crash could have other modes; start from none.
  await rm(tmp, { force: true });
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, path);
}

/** Removes the record only if it is still the one of `pid` (a newer engine may have replaced it). */
export async function removeEngineRecord(home: string, pid: number): Promise<void> {
  const path = engineRecordPath(home);
  try {
    const current = engineRecordSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    if (current.success && current.data.pid !== pid) return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
  }
  await rm(path, { force: true });
}
