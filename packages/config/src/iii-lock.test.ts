import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigParseError } from './errors.js';
import {
  carryOverRenamedPins,
  dropUnconfiguredPins,
  emptyLockFile,
  parseLockFile,
  pinWorker,
  readLockFile,
  renderLockFile,
  unpinWorker,
  verifyLock,
} from './iii-lock.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('iii.lock', () => {
  it('round-trips through text with workers sorted by name', () => {
    let lock = pinWorker(emptyLockFile(), 'zeta', { image: 'z:1', digest: D1, platform: 'linux/amd64' });
    lock = pinWorker(lock, 'alpha', { image: 'a:1', digest: D2, index: D1, platform: 'linux/arm64/v8' });
    const text = renderLockFile(lock);
    expect(text.indexOf('alpha:')).toBeLessThan(text.indexOf('zeta:'));
    expect(parseLockFile(text, 'iii.lock')).toEqual(lock);
    expect(unpinWorker(lock, 'zeta').workers).toEqual({ alpha: lock.workers.alpha });
  });

  it('remembers the digest a new pin replaces, and round-trips it', () => {
    let lock = pinWorker(emptyLockFile(), 'w', { image: 'w:1', digest: D1, platform: 'linux/amd64' });
    lock = pinWorker(lock, 'w', { image: 'w:1', digest: D2, platform: 'linux/amd64' });
    expect(lock.workers.w?.previous).toEqual({ digest: D1, platform: 'linux/amd64' });
    // The same digest again keeps what it had before.
    lock = pinWorker(lock, 'w', { image: 'w:1', digest: D2, platform: 'linux/amd64' });
    expect(lock.workers.w?.previous?.digest).toBe(D1);
    expect(parseLockFile(renderLockFile(lock), 'iii.lock')).toEqual(lock);
    // Going back swaps them: a second rollback undoes the first.
    lock = pinWorker(lock, 'w', { image: 'w:1', digest: D1, platform: 'linux/amd64' });
    expect(lock.workers.w).toMatchObject({ digest: D1, previous: { digest: D2 } });
  });

  it('gives the pin of a worker renamed by hand to its new name, only when the match is one to one', () => {
    const pin = (image: string, digest = D1) => ({ image, digest, platform: 'linux/amd64' });
    let lock = pinWorker(emptyLockFile(), 'app', pin('reg/app:1'));
    lock = pinWorker(lock, 'other', pin('reg/other:1', D2));
    const renamed = carryOverRenamedPins(lock, [
      { name: 'web', image: 'reg/app:1' },
      { name: 'other', image: 'reg/other:1' },
    ]);
    expect(renamed.renamed).toEqual([{ from: 'app', to: 'web' }]);
    expect(renamed.lock.workers).toEqual({ web: pin('reg/app:1'), other: pin('reg/other:1', D2) });
    // Two new workers of that image: which one was renamed is not known, so neither gets it.
    const twice = carryOverRenamedPins(lock, [
      { name: 'web', image: 'reg/app:1' },
      { name: 'web2', image: 'reg/app:1' },
    ]);
    expect(twice.renamed).toEqual([]);
    // Another image: not a rename.
    expect(carryOverRenamedPins(lock, [{ name: 'web', image: 'reg/app:2' }]).renamed).toEqual([]);
  });

  it('drops the pins of workers config.yaml no longer has, and names them', () => {
    let lock = pinWorker(emptyLockFile(), 'kept', { image: 'k:1', digest: D1, platform: 'linux/amd64' });
    lock = pinWorker(lock, 'gone', { image: 'g:1', digest: D2, platform: 'linux/amd64' });
    lock = pinWorker(lock, 'also-gone', { image: 'a:1', digest: D2, platform: 'linux/amd64' });
    const { lock: next, dropped } = dropUnconfiguredPins(lock, [{ name: 'kept' }, { name: 'unpinned' }]);
    expect(dropped).toEqual(['also-gone', 'gone']);
    expect(next.workers).toEqual({ kept: lock.workers.kept });
    expect(dropUnconfiguredPins(next, [{ name: 'kept' }]).dropped).toEqual([]);
  });

  it('reads a missing file as an empty lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iii-lock-'));
    try {
      expect(await readLockFile(join(dir, 'iii.lock'))).toEqual(emptyLockFile());
      await writeFile(
        join(dir, 'iii.lock'),
        'version: 1\nworkers:\n  a: {image: x, digest: nope, platform: p}\n',
      );
      await expect(readLockFile(join(dir, 'iii.lock'))).rejects.toBeInstanceOf(ConfigParseError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a bad digest with its line', () => {
    try {
      parseLockFile(
        'version: 1\nworkers:\n  a:\n    image: x\n    digest: nope\n    platform: p\n',
        'iii.lock',
      );
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigParseError).line).toBe(5);
    }
  });

  it('refuses a YAML alias bomb with its line', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i++) bomb.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`)}]`);
    try {
      parseLockFile(`${bomb.join('\n')}\nversion: 1\n`, 'iii.lock');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigParseError);
      expect((err as ConfigParseError).line).toBe(3);
    }
  });

  it('finds every disagreement between config and lock', async () => {
    let lock = pinWorker(emptyLockFile(), 'a', { image: 'a:1', digest: D1, platform: 'linux/amd64' });
    lock = pinWorker(lock, 'b', { image: 'b:1', digest: D1, platform: 'linux/amd64' });
    lock = pinWorker(lock, 'gone', { image: 'g:1', digest: D1, platform: 'linux/amd64' });
    const workers = [
      { name: 'a', image: 'a:1' },
      { name: 'b', image: 'b:2' },
      { name: 'new', image: 'n:1' },
    ];
    const problems = await verifyLock(workers, lock, { hasImage: (name) => name !== 'a' });
    expect(problems.map((p) => `${p.worker}:${p.kind}`)).toEqual([
      'a:missing-image',
      'b:image-changed',
      'new:not-locked',
      'gone:not-in-config',
    ]);
    expect(
      await verifyLock([{ name: 'a', image: 'a:1' }], unpinWorker(unpinWorker(lock, 'b'), 'gone')),
    ).toEqual([]);
  });
});
