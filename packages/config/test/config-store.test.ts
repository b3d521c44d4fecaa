import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CONFIG_FILE_BYTES } from '../src/bounded-read.js';
import {
  acquireConfigLock,
  CONFIG_SCHEMA_URL,
  ConfigDocument,
  ConfigNotFoundError,
  configLockPath,
  editConfig,
  FileTooLargeError,
  loadConfig,
  parseLockFile,
  writeFileAtomic,
} from '../src/index.js';

const run = promisify(execFile);
const child = new URL('./add-worker-process.ts', import.meta.url).pathname;
const nodeArgs = ['--import', 'tsx', child];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iii-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('editConfig', () => {
  it('creates config.yaml with its schema line and workers: [] when asked to', async () => {
    const configPath = join(dir, 'config.yaml');
    await editConfig(configPath, ({ doc }) => ({ doc, result: null }), { create: true });
    expect(await readFile(configPath, 'utf8')).toBe(
      `# yaml-language-server: $schema=${CONFIG_SCHEMA_URL}\nworkers: []\n`,
    );
  });

  it('refuses to edit a missing config unless creating', async () => {
    await expect(
      editConfig(join(dir, 'config.yaml'), ({ doc }) => ({ doc, result: null })),
    ).rejects.toBeInstanceOf(ConfigNotFoundError);
    await expect(loadConfig(join(dir, 'config.yaml'))).rejects.toBeInstanceOf(ConfigNotFoundError);
  });

  it('refuses a config.yaml and an iii.lock over the size limit, before any edit', async () => {
    const configPath = join(dir, 'config.yaml');
    const big = `workers: []\n# ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`;
    await writeFile(configPath, big);
    await expect(loadConfig(configPath)).rejects.toBeInstanceOf(FileTooLargeError);
    await expect(
      editConfig(configPath, ({ doc }) => ({
        doc: doc.withWorker({ name: 'w', image: 'r/w:1' }),
        result: 0,
      })),
    ).rejects.toThrow(`${configPath} is 4.0 MiB (${big.length} bytes), over the limit of 4 MiB`);
    expect(await readFile(configPath, 'utf8')).toBe(big);

    await writeFile(configPath, 'workers: []\n');
    await writeFile(join(dir, 'iii.lock'), `version: 1\n# ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`);
    await expect(loadConfig(configPath)).rejects.toThrow(/iii\.lock is 4\.0 MiB .* over the limit of 4 MiB/);
  });

  it('writes neither file when the edit would make config.yaml bigger than the limit', async () => {
    const configPath = join(dir, 'config.yaml');
    await writeFile(configPath, 'workers: []\n');
    const huge = { BLOB: 'x'.repeat(MAX_CONFIG_FILE_BYTES) };
    await expect(
      editConfig(configPath, ({ doc, lock }) => ({
        doc: doc.withWorker({ name: 'w', image: 'r/w:1', config: huge }),
        lock: {
          ...lock,
          workers: { w: { image: 'r/w:1', digest: `sha256:${'a'.repeat(64)}`, platform: 'linux/amd64' } },
        },
        result: 0,
      })),
    ).rejects.toThrow(/config\.yaml would be 4\.0 MiB .* over the limit of 4 MiB/);
    expect(await readFile(configPath, 'utf8')).toBe('workers: []\n');
    expect(await readdir(dir)).toEqual(['config.yaml']);
  });

  it('sweeps temp files a killed writer left behind', async () => {
    const configPath = join(dir, 'config.yaml');
    await writeFile(join(dir, '.config.yaml.999999.abcd.tmp'), 'workers: [');
    await writeFile(join(dir, '.iii.lock.999999.abcd.tmp'), 'version');
    await editConfig(configPath, ({ doc }) => ({ doc, result: null }), { create: true });
    expect((await readdir(dir)).sort()).toEqual(['config.yaml']);
  });

  it('never rewrites a malformed config', async () => {
    const configPath = join(dir, 'config.yaml');
    const bad = 'workers:\n  - name: a\n   image: x\n';
    await writeFile(configPath, bad);
    await expect(
      editConfig(configPath, ({ doc }) => ({ doc: doc.withWorker({ name: 'b', image: 'y' }), result: null })),
    ).rejects.toThrow(/config\.yaml:\d+:\d+/);
    expect(await readFile(configPath, 'utf8')).toBe(bad);
  });

  it('lands every entry when ten processes add at once', async () => {
    const configPath = join(dir, 'config.yaml');
    const names = Array.from({ length: 10 }, (_, i) => `w${i}`);
    await Promise.all(names.map((n) => run(process.execPath, [...nodeArgs, configPath, n, '20'])));
    const state = await loadConfig(configPath);
    expect(state.doc.workers.map((w) => w.name).sort()).toEqual(names);
    expect(Object.keys(state.lock.workers).sort()).toEqual(names);
    expect((await readdir(dir)).sort()).toEqual(['config.yaml', 'iii.lock']);
  });

  it('takes over at once a lock whose holder was killed', async () => {
    const configPath = join(dir, 'config.yaml');
    const p = spawn(process.execPath, [...nodeArgs, configPath, 'slow', '600000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const exited = new Promise((r) => p.once('exit', r));
    await new Promise<void>((resolve) =>
      p.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()),
    );
    p.kill('SIGKILL');
    await exited;
    await stat(configLockPath(configPath));
    await run(process.execPath, [...nodeArgs, configPath, 'after']);
    const state = await loadConfig(configPath);
    expect(state.doc.workers.map((w) => w.name)).toEqual(['after']);
    await expect(stat(configLockPath(configPath))).rejects.toThrow();
  });

  it('never leaves a torn file when writers are killed at random moments', async () => {
    const configPath = join(dir, 'config.yaml');
    for (let i = 0; i < 6; i++) {
      const p = spawn(process.execPath, [...nodeArgs, configPath, `k${i}`, '50'], { stdio: 'ignore' });
      const exited = new Promise((r) => p.once('exit', r));
      // Kill at different moments: while starting, while holding the lock, while writing.
      await new Promise((r) => setTimeout(r, 300 + 150 * i));
      p.kill('SIGKILL');
      await exited;
      const text = await readFile(configPath, 'utf8').catch(() => 'workers: []\n');
      ConfigDocument.parse(text, configPath);
      const lockText = await readFile(join(dir, 'iii.lock'), 'utf8').catch(() => 'version: 1\n');
      parseLockFile(lockText, 'iii.lock');
    }
    await run(process.execPath, [...nodeArgs, configPath, 'after']);
    expect((await loadConfig(configPath)).doc.worker('after')).toBeDefined();
    // Temp files of killed writers are swept by the next writer.
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('acquireConfigLock', () => {
  it('serializes holders and frees the lock on release', async () => {
    const configPath = join(dir, 'config.yaml');
    const lockPath = configLockPath(configPath);
    const release = await acquireConfigLock(configPath);
    let second = false;
    const waiting = acquireConfigLock(configPath).then((r) => {
      second = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(second).toBe(false);
    await release();
    await (await waiting)();
    await expect(stat(lockPath)).rejects.toThrow();
  });

  it('gives up with a clear error when the holder is alive', async () => {
    const configPath = join(dir, 'x.yaml');
    const release = await acquireConfigLock(configPath);
    await expect(acquireConfigLock(configPath, { timeoutMs: 50 })).rejects.toThrow(
      /timed out waiting for the lock/,
    );
    await expect(editConfig(configPath, () => ({ result: 1 }), { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
      hint: expect.stringContaining('editing this config'),
    });
    await release();
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file and keeps its mode', async () => {
    const file = join(dir, 'f');
    await writeFile(file, 'old', { mode: 0o600 });
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['f']);
  });
});
