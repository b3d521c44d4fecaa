import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfig } from './config-watcher.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function project() {
  const dir = await mkdtemp(join(tmpdir(), 'iii-watch-'));
  dirs.push(dir);
  const configPath = join(dir, 'config.yaml');
  await writeFile(configPath, 'workers: []\n');
  return { dir, configPath };
}

/** Resolves after the n-th call, or with the count after `ms`. */
function counter() {
  let calls = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    onChange: async () => {
      calls++;
      for (const w of waiters.filter((w) => calls >= w.n)) w.resolve();
    },
    get calls() {
      return calls;
    },
    reached: (n: number) => new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}

describe('watchConfig', () => {
  it('turns ten quick saves, in place and by rename, into one change', async () => {
    const { dir, configPath } = await project();
    const c = counter();
    const watch = watchConfig(configPath, c.onChange, { debounceMs: 150 });
    try {
      for (let i = 0; i < 10; i++) {
        if (i % 2 === 0) await writeFile(configPath, `workers: [] # ${i}\n`);
        else {
          await writeFile(join(dir, '.config.yaml.swp'), `workers: [] # ${i}\n`);
          await rename(join(dir, '.config.yaml.swp'), configPath);
        }
      }
      await c.reached(1);
      // A second call would come within one debounce period of the first.
      await new Promise((r) => setTimeout(r, 400));
      expect(c.calls).toBe(1);
      await writeFile(join(dir, 'iii.lock'), 'version: 1\n');
      await c.reached(2);
    } finally {
      watch.close();
    }
  });

  it('ignores other files of the directory', async () => {
    const { dir, configPath } = await project();
    const c = counter();
    const watch = watchConfig(configPath, c.onChange, { debounceMs: 50 });
    try {
      await writeFile(join(dir, 'notes.txt'), 'x');
      await writeFile(join(dir, '.config.yaml.lock'), 'x');
      await new Promise((r) => setTimeout(r, 300));
      expect(c.calls).toBe(0);
    } finally {
      watch.close();
    }
  });
});
