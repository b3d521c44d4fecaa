import { open, readFile, rm, stat } from 'node:fs/promises';
import { isProcessAlive } from '@iii/base';
import { OciError } from '../errors.js';

export interface FileLockOptions {
  signal?: AbortSignal;
  /** How often to look again while another process holds the lock. */
  pollMs?: number;
  /** Give up after this long (default: wait as long as the holder lives). */
  timeoutMs?: number;
  /**
   * Take over a lock older than this even if its pid is alive (that pid may have been reused by an
   * unrelated process). Only for locks held briefly, like the index lock.
   */
  staleAfterMs?: number;
}

/**
 * Runs `fn` holding an exclusive lock file (created with O_EXCL, holding our pid). A lock left by a
 * process that died is taken over, so a crash never wedges the store.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const poll = options.pollMs ?? 25;
  const deadline =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      // An empty file is a lock being written right now; only a dead pid is stale.
      if (Number.isInteger(holder) && holder > 0 && !isProcessAlive(holder)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (options.staleAfterMs !== undefined) {
        const age = await stat(lockPath).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > options.staleAfterMs) {
          await rm(lockPath, { force: true });
          continue;
        }
      }
      if (Date.now() > deadline) {
        throw new OciError(
          'STORE_LOCKED',
          `${lockPath} is held by process ${holder}`,
          'Another iii process is using the image store; wait for it to finish.',
        );
      }
      await new Promise((r) => setTimeout(r, poll));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
