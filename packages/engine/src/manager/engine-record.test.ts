import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { projectPaths } from '@iii/config';
import { describe, expect, it } from 'vitest';
import {
  claimProject,
  listEngineRecords,
  readEngineRecord,
  removeEngineRecord,
  writeEngineRecord,
} from './engine-record.js';

const record = (pid: number, configPath = '/srv/config.yaml') => ({
  pid,
  address: 'ws://127.0.0.1:40000',
  host: '127.0.0.1',
  port: 40000,
  configPath,
  startedAt: new Date(0).toISOString(),
});

async function project(configPath = '/srv/app/config.yaml') {
  const home = await mkdtemp(join(tmpdir(), 'iii-rec-'));
  return projectPaths({ home, configPath, env: {} });
}

describe('engine record', () => {
  it('is found while its process lives, in the directory of its project', async () => {
    const p = await project();
    await writeEngineRecord(p, record(process.pid));
    expect(await readEngineRecord(p)).toMatchObject({ pid: process.pid, address: 'ws://127.0.0.1:40000' });
    expect(p.engineRecord).toBe(join(p.home, 'projects', p.key, 'engine.json'));
  });

  it('is ignored when its pid is dead (stale after a crash)', async () => {
    const p = await project();
    await writeEngineRecord(p, record(4_000_000));
    expect(await readEngineRecord(p, () => false)).toBeUndefined();
    expect(await readEngineRecord(p)).toBeUndefined();
  });

  it('is ignored when missing or unreadable', async () => {
    const p = await project();
    expect(await readEngineRecord(p)).toBeUndefined();
    await writeEngineRecord(p, record(process.pid));
    await writeFile(p.engineRecord, '{"pid": 12');
    expect(await readEngineRecord(p)).toBeUndefined();
  });

  it('is removed only by the engine that wrote it', async () => {
    const p = await project();
    await writeEngineRecord(p, record(process.pid));
    await removeEngineRecord(p, process.pid + 1);
    expect(JSON.parse(await readFile(p.engineRecord, 'utf8')).pid).toBe(process.pid);
    await removeEngineRecord(p, process.pid);
    expect(await readEngineRecord(p)).toBeUndefined();
  });

  it('keeps the management token where only its owner reads it (0600 in a 0700 directory)', async () => {
    const p = await project();
    try {
      await mkdir(dirname(p.engineRecord), { recursive: true, mode: 0o755 });
      await chmod(dirname(p.engineRecord), 0o755);
      await writeEngineRecord(p, { ...record(process.pid), token: 'tkn' });
      expect((await stat(dirname(p.engineRecord))).mode & 0o777).toBe(0o700);
      expect((await stat(p.engineRecord)).mode & 0o777).toBe(0o600);
      expect((await readEngineRecord(p))?.token).toBe('tkn');
    } finally {
      await rm(p.home, { recursive: true, force: true });
    }
  });

  it('lets one live iii claim a project, and any number of projects run side by side', async () => {
    const a = await project('/srv/a/config.yaml');
    const b = projectPaths({ home: a.home, configPath: '/srv/b/config.yaml', env: {} });
    await claimProject(a, record(process.pid, a.configPath));
    await expect(claimProject(a, record(process.ppid, a.configPath))).rejects.toMatchObject({
      code: 'ENGINE_ALREADY_RUNNING',
      message: expect.stringContaining('/srv/a/config.yaml'),
    });
    await claimProject(b, record(process.ppid, b.configPath));
    const running = await listEngineRecords(a.home);
    expect(running.map((r) => r.configPath).sort()).toEqual(['/srv/a/config.yaml', '/srv/b/config.yaml']);
    expect(running.find((r) => r.configPath === '/srv/a/config.yaml')?.key).toBe(a.key);
    // A dead claim is no claim.
    await writeEngineRecord(b, record(4_000_000, b.configPath));
    expect((await listEngineRecords(a.home)).map((r) => r.configPath)).toEqual(['/srv/a/config.yaml']);
    await claimProject(b, record(process.ppid, b.configPath));
  });
});
