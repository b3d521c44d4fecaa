import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  engineRecordPath,
  readEngineRecord,
  removeEngineRecord,
  writeEngineRecord,
} from './engine-record.js';

const record = (pid: number) => ({
  pid,
  address: 'ws://127.0.0.1:40000',
  host: '127.0.0.1',
  port: 40000,
  configPath: '/srv/config.yaml',
  startedAt: new Date(0).toISOString(),
});

describe('engine record', () => {
  it('is found while its process lives', async () => {
    const home = await mkdtemp(join(tmpdir(), 'iii-rec-'));
    await writeEngineRecord(home, record(process.pid));
    expect(await readEngineRecord(home)).toMatchObject({ pid: process.pid, address: 'ws://127.0.0.1:40000' });
    expect(engineRecordPath(home)).toBe(join(home, 'run', 'engine.json'));
  });

  it('is ignored when its pid is dead (stale after a crash)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'iii-rec-'));
    await writeEngineRecord(home, record(4_000_000));
    expect(await readEngineRecord(home, () => false)).toBeUndefined();
    expect(await readEngineRecord(home)).toBeUndefined();
  });

  it('is ignored when missing or unreadable', async () => {
    const home = await mkdtemp(join(tmpdir(), 'iii-rec-'));
    expect(await readEngineRecord(home)).toBeUndefined();
    await writeEngineRecord(home, record(process.pid));
    await writeFile(engineRecordPath(home), '{"pid": 12');
    expect(await readEngineRecord(home)).toBeUndefined();
  });

  it('is removed only by the engine that wrote it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'iii-rec-'));
    await writeEngineRecord(home, record(process.pid));
    await removeEngineRecord(home, process.pid + 1);
    expect(JSON.parse(await readFile(engineRecordPath(home), 'utf8')).pid).toBe(process.pid);
    await removeEngineRecord(home, process.pid);
    expect(await readEngineRecord(home)).toBeUndefined();
  });

  it('keeps the management token where only its owner reads it (0600 in a 0700 directory)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'iii-rec-'));
    try {
      await mkdir(join(home, 'run'), { mode: 0o755 });
      await chmod(join(home, 'run'), 0o755);
      await writeEngineRecord(home, { ...record(process.pid), token: 'tkn' });
      expect((await stat(join(home, 'run'))).mode & 0o777).toBe(0o700);
      expect((await stat(engineRecordPath(home))).mode & 0o777).toBe(0o600);
      expect((await readEngineRecord(home))?.token).toBe('tkn');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
