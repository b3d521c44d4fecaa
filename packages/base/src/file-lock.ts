import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { IiiError } from './errors.js';
import { isProcessAlive } from './process-alive.js';

/**
 * A lock whose file has not been touched for this long is abandoned, whoever it names: its holder
 * refreshes the file's mtime every quarter of it, so only a holder that is gone (or on another host,
 * or whose pid was reused) lets it age. One rule for every lock of the project.
 */
export const LOCK_STALE_MS = 60_000;

/** A lock file that cannot be read yet is being written; after this long its writer crashed. */
const TORN_STALE_MS = 2_000;

/** How long to wait for a file lock, the hint of its timeout error, and an abort signal. */
export interface FileLockOptions {
  /** Give up after this long with a {@link LockTimeoutError} (default: wait as long as the holder lives). */
  timeoutMs?: number;
  /** The hint of the {@link LockTimeoutError}: what the user should do. */
  hint?: string;
  signal?: AbortSignal;
}

/** Thrown when a lock stays held by a live process longer than the caller wanted to wait. */
export class LockTimeoutError extends IiiError {
  readonly lockPath: string;

  constructor(lockPath: string, holder: string, hint: string) {
    super('LOCK_TIMEOUT', `timed out waiting for the lock ${lockPath} (held by ${holder})`, hint);
    this.lockPath = lockPath;
  }
}

interface Owner {
  pid: number;
  host: string;
  token: string;
}

/**
 * A cross-process lock held by creating `lockPath` exclusively (O_EXCL, mode 0600). The file names
 * its owner's pid and host: a lock left by a killed process (kill -9, power loss) is taken over at
 * once on the same host; otherwise it is abandoned when its mtime is {@link LOCK_STALE_MS} old (the
 * holder refreshes it while it lives). Returns the release function.
 */
export async function acquireFileLock(
  lockPath: string,
  opts: FileLockOptions = {},
): Promise<() => Promise<void>> {
  const me: Owner = {
    pid: process.pid,
    host: hostname(),
    token: `${process.pid}-${Date.now()}-${Math.random()}`,
  };
  const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
  let wait = 5;
  for (;;) {
    opts.signal?.throwIfAborted();
    if (await tryCreate(lockPath, me)) break;
    if (await breakIfStale(lockPath)) continue;
    if (Date.now() > deadline) {
      const owner = await readOwner(lockPath);
      throw new LockTimeoutError(
        lockPath,
        owner ? `process ${owner.pid} on ${owner.host}` : 'an unknown process',
        opts.hint ?? 'Another iii process holds it; wait for it to finish.',
      );
    }
    await sleep(wait + Math.random() * wait, undefined, { signal: opts.signal });
    wait = Math.min(wait * 2, 100);
  }
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => {});
  }, LOCK_STALE_MS / 4);
  refresh.unref();
  return async () => {
    clearInterval(refresh);
    const current = await readOwner(lockPath);
    if (current?.token === me.token) await unlink(lockPath).catch(() => {});
  };
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

async function tryCreate(path: string, owner: Owner): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return true;
}

async function readOwner(lockPath: string): Promise<Owner | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  // A bare pid: a lock written by an earlier version of the store, always of this host.
  if (/^\d+$/.test(text.trim())) return { pid: Number(text.trim()), host: hostname(), token: text.trim() };
  try {
    const parsed = JSON.parse(text) as Partial<Owner>;
    if (
      typeof parsed.pid === 'number' &&
      typeof parsed.host === 'string' &&
      typeof parsed.token === 'string'
    ) {
      return parsed as Owner;
    }
  } catch {
    // Torn by a crash between create and write.
  }
  return undefined;
}

async function isStale(lockPath: string): Promise<{ stale: boolean; token?: string }> {
  let mtime: number;
  try {
    mtime = (await stat(lockPath)).mtimeMs;
  } catch {
    return { stale: false };
  }
  const owner = await readOwner(lockPath);
  const age = Date.now() - mtime;
  if (!owner) return { stale: age > TORN_STALE_MS };
  if (owner.host === hostname() && !isProcessAlive(owner.pid)) return { stale: true, token: owner.token };
  return { stale: age > LOCK_STALE_MS, token: owner.token };
}

/**
 * Whether someone holds `lockPath` now: the file is there and not abandoned (its holder lives, or
 * it was touched within {@link LOCK_STALE_MS}). For a caller that must leave alone what a lock guards.
 */
export async function isFileLockHeld(lockPath: string): Promise<boolean> {
  return (await stat(lockPath).catch(() => undefined)) !== undefined && !(await isStale(lockPath)).stale;
}

/**
 * Removes an abandoned lock. A second exclusive file guards the check-then-delete, so two waiters
 * cannot both decide the lock is stale and one of them delete the lock the other just took.
 */
async function breakIfStale(lockPath: string): Promise<boolean> {
  const first = await isStale(lockPath);
  if (!first.stale) return false;
  const guard = `${lockPath}.break`;
  if (!(await tryCreate(guard, { pid: process.pid, host: hostname(), token: 'break' }))) {
    // Someone else is breaking it; if that someone died doing so, clear their guard.
    if ((await isStale(guard)).stale) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    const again = await isStale(lockPath);
    if (again.stale && again.token === first.token) {
      await unlink(lockPath).catch(() => {});
      return true;
    }
    return false;
  } finally {
    await unlink(guard).catch(() => {});
  }
}
