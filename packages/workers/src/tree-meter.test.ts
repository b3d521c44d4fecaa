import { execFile } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TreeMeter } from './tree-meter.js';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-tree-meter-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What `du --apparent-size -sb` says of `path`: the reference the meter follows. */
async function du(path: string): Promise<number> {
  const { stdout } = await run('du', ['--apparent-size', '-sb', path]);
  return Number(stdout.split('\t')[0]);
}

describe('TreeMeter', () => {
  it('counts a tree as du -sb does: directories, files, symlinks, and a hard link once', async () => {
    const root = join(dir, 'root');
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await writeFile(join(root, 'a', 'one'), 'x'.repeat(1000));
    await writeFile(join(root, 'a', 'b', 'two'), 'y'.repeat(70_000));
    await link(join(root, 'a', 'b', 'two'), join(root, 'two-again'));
    await symlink('/etc/passwd', join(root, 'outside'));
    expect(await new TreeMeter().size(root)).toBe(await du(root));
  });

  it('walks a tree of thousands of files, letting the event loop run on the way', async () => {
    const root = join(dir, 'many');
    for (let d = 0; d < 10; d++) {
      await mkdir(join(root, `d${d}`), { recursive: true });
      await Promise.all(
        Array.from({ length: 500 }, (_, f) => writeFile(join(root, `d${d}`, `f${f}`), String(f))),
      );
    }
    // 5,011 entries: the walk lets the loop run twice on its way (every 2,000 entries).
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    let size: number;
    let during: number;
    try {
      size = await new TreeMeter().size(root);
      during = turns;
    } finally {
      clearInterval(ticker);
    }
    expect(during).toBeGreaterThan(0);
    expect(size).toBe(await du(root));
  });

  it('counts what it cannot look into, or what is gone, for no more than it can see', async () => {
    expect(await new TreeMeter().size(join(dir, 'missing'))).toBe(0);
    const file = join(dir, 'file');
    await writeFile(file, 'abc');
    expect(await new TreeMeter().size(file)).toBe(3);
    expect(await new TreeMeter().size(dir)).toBe((await lstat(dir)).size + 3);
  });
});
