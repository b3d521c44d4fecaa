import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { READ_ONCE, writeFileAtomic } from '@iii/base';
import * as z from 'zod';

/**
 * `<stateDir>/watchdog.json`: the watchdog of the sandbox that owns the state directory, so that the
 * next owner waits for a watchdog still clearing up after a dead one, and tools that look at the
 * directory without a sandbox know which runtime binary made its containers.
 */
export const watchdogRecordSchema = z.object({
  /** The watchdog process. */
  pid: z.number().int().positive(),
  /** The process whose death it waits for. */
  ownerPid: z.number().int().positive(),
  runtime: z.string().min(1),
  binary: z.string().min(1),
  root: z.string().min(1),
  canKeep: z.boolean(),
});

/** `watchdog.json` of a sandbox state directory: the watchdog, its owner, and the runtime binary and root it clears. */
export type WatchdogRecord = z.infer<typeof watchdogRecordSchema>;

export function watchdogRecordPath(stateDir: string): string {
  return join(resolve(stateDir), 'watchdog.json');
}

/** The record, or undefined when there is none or it cannot be read. */
export async function readWatchdogRecord(stateDir: string): Promise<WatchdogRecord | undefined> {
  try {
    const parsed = watchdogRecordSchema.safeParse(
      JSON.parse(await readFile(watchdogRecordPath(stateDir), 'utf8')),
      READ_ONCE,
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeWatchdogRecord(stateDir: string, record: WatchdogRecord): Promise<void> {
  const path = watchdogRecordPath(stateDir);
  await writeFileAtomic(path, `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/** Removes the record if it is still the one of watchdog `pid` (a newer owner may have replaced it). */
export async function removeWatchdogRecord(stateDir: string, pid: number): Promise<void> {
  const current = await readWatchdogRecord(stateDir);
  if (current && current.pid !== pid) return;
  await rm(watchdogRecordPath(stateDir), { force: true });
}
