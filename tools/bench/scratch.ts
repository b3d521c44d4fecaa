/**
 * Where whole-process cases write: a tmpfs when the machine has one, so the disk (and whatever else
 * is writing to it) does not decide the result.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext } from './types.ts';

const run = promisify(execFile);

/** A directory on tmpfs (/dev/shm) for case `name` if the machine has one, else in the case's work directory. */
export async function scratchRoot(ctx: BenchContext, name: string): Promise<string> {
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '');
  if (/^\S+ \/dev\/shm tmpfs /m.test(mounts)) return join('/dev/shm', `iii-bench-${name}-${process.pid}`);
  ctx.log('no tmpfs at /dev/shm: writing to the work directory, so the disk is part of every number');
  return join(ctx.workDir, 'scratch');
}

/** An empty directory, everything pending written out first so no run pays for the one before. */
export async function fresh(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run('sync', []);
  return dir;
}
