import { readdir, readFile } from 'node:fs/promises';
import { isProcessAlive } from '@iii/base';

/** One process of the host as `/proc` shows it. */
export interface ProcessEntry {
  pid: number;
  argv: string[];
}

/**
 * True when `pid` names a process that still runs. A zombie (dead, not yet reaped by its parent)
 * answers `kill(pid, 0)` like a live process, so its state in `/proc` is checked too.
 */
export async function isRunningProcess(pid: number): Promise<boolean> {
  if (!isProcessAlive(pid)) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return true; // no /proc here: trust kill(0)
  // `pid (comm) S ...`: comm may hold spaces and parentheses, the state follows the last `)`.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** The argv of a process, or undefined when it is gone or not readable. */
export async function readArgv(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  return text.replace(/\0$/, '').split('\0');
}

/** Every process whose argv we can read (our own user's, or all of them as root). */
export async function listProcesses(): Promise<ProcessEntry[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const out: ProcessEntry[] = [];
  await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        const argv = await readArgv(Number(n));
        if (argv) out.push({ pid: Number(n), argv });
      }),
  );
  return out;
}
