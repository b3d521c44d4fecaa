import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireFileLock, LOCK_STALE_MS, LockTimeoutError, withFileLock } from './file-lock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'base-lock-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// A pid above the kernel's pid_max is never alive.
const DEAD_PID = 99_999_999;

async function age(path: string, ms: number): Promise<void> {
  const old = new Date(Date.now() - ms);
  await utimes(path, old, old);
}

describe('withFileLock', () => {
  it('runs holders one after another and removes the lock file afterwards', async () => {
    const lock = join(dir, 'serial.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withFileLock(lock, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 5));
        order.push(`${name}-`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    expect(order).toHaveLength(6);
    for (let i = 0; i < order.length; i += 2) expect(order[i]!.slice(0, 1)).toBe(order[i + 1]!.slice(0, 1));
    await expect(stat(lock)).rejects.toThrow();
  });

  it('writes the lock 0600 naming its holder', async () => {
    const lock = join(dir, 'owner.lock');
    await withFileLock(lock, async () => {
      expect((await stat(lock)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    });
  });

  it('takes over at once a lock whose holder on this host is dead, in either file format', async () => {
    const lock = join(dir, 'dead.lock');
    await writeFile(lock, JSON.stringify({ pid: DEAD_PID, host: hostname(), token: 't' }));
    expect(await withFileLock(lock, async () => 'ran', { timeoutMs: 1_000 })).toBe('ran');
    await writeFile(lock, String(DEAD_PID));
    expect(await withFileLock(lock, async () => 'ran', { timeoutMs: 1_000 })).toBe('ran');
  });

  it('takes over a lock of a live or remote holder only once its mtime is older than the stale age', async () => {
    const lock = join(dir, 'old.lock');
    for (const owner of [
      { pid: process.pid, host: hostname(), token: 'reused-pid' },
      { pid: DEAD_PID, host: 'another-host', token: 'remote' },
    ]) {
      await writeFile(lock, JSON.stringify(owner));
      await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 50 })).rejects.toThrow(
        LockTimeoutError,
      );
      await age(lock, LOCK_STALE_MS + 5_000);
      expect(await withFileLock(lock, async () => 'ran', { timeoutMs: 1_000 })).toBe('ran');
    }
  });

  it('takes over a torn lock file only after its writer had time to finish', async () => {
    const lock = join(dir, 'torn.lock');
    await writeFile(lock, '');
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 50 })).rejects.toThrow(
      /timed out waiting for the lock .* \(held by an unknown process\)/,
    );
    await age(lock, 5_000);
    expect(await withFileLock(lock, async () => 'ran', { timeoutMs: 1_000 })).toBe('ran');
  });

  it('gives up with a clear error and the caller hint when the holder is alive', async () => {
    const lock = join(dir, 'held.lock');
    const release = await acquireFileLock(lock);
    const err = await acquireFileLock(lock, { timeoutMs: 50, hint: 'wait' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'LOCK_TIMEOUT', hint: 'wait', lockPath: lock });
    expect((err as Error).message).toContain(`held by process ${process.pid} on ${hostname()}`);
    await release();
    await expect(stat(lock)).rejects.toThrow();
  });

  it('release leaves a lock alone that someone else took over in the meantime', async () => {
    const lock = join(dir, 'taken.lock');
    const release = await acquireFileLock(lock);
    const other = JSON.stringify({ pid: process.pid, host: hostname(), token: 'other' });
    await writeFile(lock, other);
    await release();
    expect(await readFile(lock, 'utf8')).toBe(other);
    await rm(lock);
  });
});
