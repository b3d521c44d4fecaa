import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oci-lock-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('withFileLock', () => {
  it('runs holders one after another', async () => {
    const lock = join(dir, 'serial.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withFileLock(lock, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 5));
        order.push(`${name}-`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    for (let i = 0; i < order.length; i += 2) expect(order[i]!.slice(0, 1)).toBe(order[i + 1]!.slice(0, 1));
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const lock = join(dir, 'dead.lock');
    // A pid above the kernel's pid_max is never alive.
    await writeFile(lock, '99999999');
    expect(await withFileLock(lock, async () => 'ran')).toBe('ran');
  });

  it('takes over an old lock of a live pid only when told it is stale', async () => {
    const lock = join(dir, 'old.lock');
    await writeFile(lock, String(process.pid));
    const old = new Date(Date.now() - 120_000);
    await utimes(lock, old, old);
    expect(await withFileLock(lock, async () => 'ran', { staleAfterMs: 60_000 })).toBe('ran');
    await writeFile(lock, String(process.pid));
    await expect(withFileLock(lock, async () => 'ran', { timeoutMs: 50 })).rejects.toThrow('held by process');
    await rm(lock);
  });
});
