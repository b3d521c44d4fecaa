import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessAlive } from '@iii/base';
import { LockTimeoutError } from './errors.js';

export interface FileLockOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** A lock older than this is considered abandoned even if its owner cannot be checked (default 10 min). */
  staleMs?: number;
  signal?: AbortSignal;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
}

/**
 * A cross-process lock held by creating `lockPath` exclusively (O_EXCL). The file names its owner's
 * pid and host, so a lock left by a killed process (kill -9, power loss) is taken over at once on the
 * same host instead of after a timeout. Returns the release function.
 */
export async function acquireFileLock(
  lockPath: string,
  opts: FileLockOptions = {},
): Promise<() => Promise<void>> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const staleMs = opts.staleMs ?? 10 * 60_000;
  const me: Owner = {
    pid: process.pid,
    host: hostname(),
    token: `${process.pid}-${Date.now()}-${Math.random()}`,
  };
  const started = Date.now();
  let wait = 5;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      return async () => {
        const current = await readOwner(lockPath);
        if (current?.token === me.token) await unlink(lockPath).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const broke = await breakIfStale(lockPath, staleMs);
    if (broke) continue;
    if (Date.now() - started > timeoutMs) {
      const owner = await readOwner(lockPath);
      throw new LockTimeoutError(
        lockPath,
        owner ? `pid ${owner.pid} on ${owner.host}` : 'an unknown process',
      );
    }
    await sleep(wait + Math.random() * wait, undefined, { signal: opts.signal });
    wait = Math.min(wait * 2, 100);
  }
}

/** Runs `fn` while holding the lock. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: FileLockOptions = {},
): Promise<T> {
  const release = await acquireFileLock(lockPath, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}

async function readOwner(lockPath: string): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as Partial<Owner>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.host === 'string' &&
      typeof parsed.token === 'string'
    ) {
      return parsed as Owner;
    }
  } catch {
    // Missing, or torn by a crash between create and write.
  }
  return undefined;
}

async function isStale(lockPath: string, staleMs: number): Promise<{ stale: boolean; token?: string }> {
  let mtime: number;
  try {
    mtime = (await stat(lockPath)).mtimeMs;
  } catch {
    return { stale: false };
  }
  const owner = await readOwner(lockPath);
  const age = Date.now() - mtime;
  if (!owner) return { stale: age > 2_000 };
  if (owner.host === hostname() && !isProcessAlive(owner.pid)) return { stale: true, token: owner.token };
  return { stale: age > staleMs, token: owner.token };
}

/**
 * Removes an abandoned lock. A second exclusive file guards the check-then-delete, so two waiters
 * cannot both decide the lock is stale and one of them delete the lock the other just took.
 */
async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  const first = await isStale(lockPath, staleMs);
  if (!first.stale) return false;
  const guard = `${lockPath}.break`;
  try {
    const handle = await open(guard, 'wx', 0o600);
    await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), token: 'break' }));
    await handle.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Someone else is breaking it; if that someone died doing so, clear their guard.
    if ((await isStale(guard, 5_000)).stale) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    const again = await isStale(lockPath, staleMs);
    if (again.stale && again.token === first.token) {
      await unlink(lockPath).catch(() => {});
      return true;
    }
    return false;
  } finally {
    await unlink(guard).catch(() => {});
  }
}
