import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectNameOf, projectPaths } from './project.js';

describe('projectPaths', () => {
  let base: string;
  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'iii-project-')));
    for (const d of ['shop', 'blog', 'other/shop']) {
      await mkdir(join(base, d), { recursive: true });
      await writeFile(join(base, d, 'config.yaml'), 'workers: []\n');
    }
    await symlink(join(base, 'shop'), join(base, 'link'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('names a project after its directory and keeps its state apart under $III_HOME/projects', () => {
    const p = projectPaths({ home: '/h', configPath: join(base, 'shop', 'config.yaml'), env: {} });
    expect(p.name).toBe('shop');
    expect(p.key).toMatch(/^shop-[0-9a-f]{12}$/);
    expect(p.dir).toBe(`/h/projects/${p.key}`);
    expect(p.engineRecord).toBe(`/h/projects/${p.key}/engine.json`);
    expect(p.sandbox).toBe(`/h/projects/${p.key}/sandbox`);
  });

  it('tells apart two directories of the same name, and finds one project through a symlink', () => {
    const a = projectPaths({ home: '/h', configPath: join(base, 'shop', 'config.yaml'), env: {} });
    const b = projectPaths({ home: '/h', configPath: join(base, 'other', 'shop', 'config.yaml'), env: {} });
    const viaLink = projectPaths({ home: '/h', configPath: join(base, 'link', 'config.yaml'), env: {} });
    expect(b.name).toBe(a.name);
    expect(b.key).not.toBe(a.key);
    expect(viaLink.key).toBe(a.key);
    expect(viaLink.configPath).toBe(join(base, 'shop', 'config.yaml'));
  });

  it('takes a name from --project-name, then $III_PROJECT_NAME, without changing where its state is', () => {
    const configPath = join(base, 'blog', 'config.yaml');
    const plain = projectPaths({ home: '/h', configPath, env: {} });
    expect(projectPaths({ home: '/h', configPath, env: { III_PROJECT_NAME: 'press' } }).name).toBe('press');
    const named = projectPaths({ home: '/h', configPath, name: 'cms', env: { III_PROJECT_NAME: 'press' } });
    expect(named.name).toBe('cms');
    expect(named.key).toBe(plain.key);
    expect(() => projectPaths({ home: '/h', configPath, name: 'Bad Name' })).toThrow(/invalid project name/);
  });

  it('makes any directory name a usable project name', () => {
    expect(projectNameOf('My App!')).toBe('myapp');
    expect(projectNameOf('--x')).toBe('x');
    expect(projectNameOf('')).toBe('default');
  });
});
