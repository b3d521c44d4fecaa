import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockPathFor, resolveConfigPath } from './config-path.js';
import { ensureHome, iiiPaths } from './paths.js';

describe('iiiPaths', () => {
  it('defaults to ~/.iii and lays out the state directories', () => {
    const p = iiiPaths({ env: {}, homedir: () => '/home/u' });
    expect(p.home).toBe('/home/u/.iii');
    expect(p.store).toBe('/home/u/.iii/store');
    expect(p.rootfs).toBe('/home/u/.iii/rootfs');
    expect(p.projects).toBe('/home/u/.iii/projects');
    expect(p.sandbox).toBe('/home/u/.iii/sandbox');
  });

  it('honours $III_HOME', () => {
    expect(iiiPaths({ env: { III_HOME: '/srv/iii' } }).store).toBe('/srv/iii/store');
  });

  it('creates the home directory with mode 0700', async () => {
    const base = await mkdtemp(join(tmpdir(), 'iii-paths-'));
    try {
      const p = await ensureHome({ env: { III_HOME: join(base, 'h') } });
      expect((await stat(p.home)).mode & 0o777).toBe(0o700);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('resolveConfigPath', () => {
  it('prefers the flag, then $III_CONFIG_PATH, then ./config.yaml', () => {
    expect(resolveConfigPath({ flag: 'a.yaml', env: { III_CONFIG_PATH: '/b.yaml' }, cwd: '/w' })).toBe(
      '/w/a.yaml',
    );
    expect(resolveConfigPath({ env: { III_CONFIG_PATH: '/b.yaml' }, cwd: '/w' })).toBe('/b.yaml');
    expect(resolveConfigPath({ env: {}, cwd: '/w' })).toBe('/w/config.yaml');
  });

  it('keeps iii.lock beside the config', () => {
    expect(lockPathFor('/w/x/my.yaml')).toBe('/w/x/iii.lock');
  });
});
