import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheDir, commandKey, requireWithCodeCache } from './code-cache.js';

const topics = ['worker', 'system', 'export'];
const requireCache = createRequire(import.meta.url).cache;

describe('commandKey', () => {
  it('names the command a run of iii takes', () => {
    expect(commandKey(['worker', 'list', '--json'], topics)).toBe('worker-list');
    expect(commandKey(['worker', 'logs', 'my-worker'], topics)).toBe('worker-logs');
    expect(commandKey(['trigger', 'math.add', '{}'], topics)).toBe('trigger');
    expect(commandKey(['init', 'my-worker'], topics)).toBe('init');
    expect(commandKey(['worker'], topics)).toBe('worker');
  });

  it('takes bare iii and iii with flags as start, --version and --help as themselves', () => {
    expect(commandKey([], topics)).toBe('start');
    expect(commandKey(['--port', '0'], topics)).toBe('start');
    expect(commandKey(['--version'], topics)).toBe('version');
    expect(commandKey(['-h'], topics)).toBe('help');
    expect(commandKey(['worker', 'add', '--help'], topics)).toBe('worker-add-help');
    expect(commandKey(['worker', '-h'], topics)).toBe('worker-help');
  });

  it('never makes a file name out of an argument that is not a plain word', () => {
    expect(commandKey(['../../etc', 'x'], topics)).toBe('start');
    expect(commandKey(['worker', '../x'], topics)).toBe('worker');
    expect(commandKey(['a'.repeat(60)], topics)).toBe('start');
  });
});

describe('codeCacheDir', () => {
  it('lives under $XDG_CACHE_HOME, else ~/.cache, and is off with NODE_DISABLE_COMPILE_CACHE', () => {
    expect(codeCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/iii/code-cache');
    expect(codeCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/iii\/code-cache$/);
    expect(codeCacheDir({ XDG_CACHE_HOME: '/x', NODE_DISABLE_COMPILE_CACHE: '1' })).toBeUndefined();
  });
});

describe('requireWithCodeCache', () => {
  let dir: string;
  let cache: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iii-code-cache-'));
    cache = join(dir, 'cache', 'iii', 'code-cache');
    file = join(dir, 'module.cjs');
    // Enough functions that V8 has real code to cache, called so that they are compiled.
    const functions = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i}; }`);
    await writeFile(
      file,
      `${functions.join('\n')}\nlet sum = 0; ${functions.map((_, i) => `sum += f${i}(2);`).join(' ')}\n` +
        'exports.sum = sum; exports.path = require("node:path").basename(__filename);\n',
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the module as require() would, then writes the cache once and uses it on the next run', async () => {
    const first = requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false });
    expect(first.exports).toEqual({ sum: expect.any(Number), path: 'module.cjs' });
    expect(first.cacheUsed).toBe(false);
    expect(requireCache[file]?.exports).toBe(first.exports);
    first.save();

    const entries = await readdir(cache);
    expect(entries).toEqual([
      expect.stringMatching(/^worker-list\.v\d+\.\d+\.\d+-[a-z0-9]+\.[0-9a-z-]+\.v8$/),
    ]);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    expect((await stat(join(cache, entries[0]!))).mode & 0o777).toBe(0o600);

    delete requireCache[file];
    const second = requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false });
    expect(second.cacheUsed).toBe(true);
    expect(second.exports).toEqual(first.exports);
  });

  it('never uses code cached for other source, and replaces it', async () => {
    requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false }).save();
    const [old] = await readdir(cache);
    // Same length, other code: V8 alone would accept the old cache for it.
    await writeFile(file, (await readFile(file, 'utf8')).replace('x * 1 +', 'x * 7 +'));
    delete requireCache[file];
    const changed = requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false });
    expect(changed.cacheUsed).toBe(false);
    changed.save();
    const entries = await readdir(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]).not.toBe(old);
  });

  it('neither reads nor writes a cache directory that others can write', async () => {
    requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false }).save();
    await chmod(cache, 0o777);
    delete requireCache[file];
    const run = requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false });
    expect(run.cacheUsed).toBe(false);
    expect(run.exports).toEqual({ sum: expect.any(Number), path: 'module.cjs' });
    run.save();
    expect(await readdir(cache)).toHaveLength(1);
  });

  it.runIf(process.getuid?.() === 0)(
    'never creates its directory in a directory another user owns',
    async () => {
      const { chown } = await import('node:fs/promises');
      await mkdir(join(dir, 'cache'));
      await chown(join(dir, 'cache'), 65534, 65534);
      const run = requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false });
      run.save();
      expect(await readdir(join(dir, 'cache'))).toEqual([]);
    },
  );

  it('runs without a cache when it cannot make one', async () => {
    await mkdir(join(dir, 'cache'));
    await writeFile(join(dir, 'cache', 'iii'), 'a file where the directory should be');
    const run = requireWithCodeCache(file, 'worker-list', cache, { saveOnExit: false });
    expect(() => run.save()).not.toThrow();
    expect(run.exports).toEqual({ sum: expect.any(Number), path: 'module.cjs' });
    const off = requireWithCodeCache(file, 'worker-list', undefined, { saveOnExit: false });
    expect(off.cacheUsed).toBe(false);
  });
});
