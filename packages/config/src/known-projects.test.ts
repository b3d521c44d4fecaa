import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownProjects, pinsOfKnownProjects, rememberProject } from './known-projects.js';
import { projectPaths } from './project.js';

describe('known projects', () => {
  let base: string;
  let home: string;
  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'iii-known-')));
    home = join(base, 'home');
    for (const d of ['shop', 'blog']) {
      await mkdir(join(base, d));
      await writeFile(join(base, d, 'config.yaml'), 'workers: []\n');
    }
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('remembers the projects used with a $III_HOME, with their config.yaml and iii.lock', async () => {
    const shop = projectPaths({ home, configPath: join(base, 'shop', 'config.yaml'), env: {} });
    const blog = projectPaths({
      home,
      configPath: join(base, 'blog', 'config.yaml'),
      name: 'press',
      env: {},
    });
    await rememberProject(shop);
    await rememberProject(blog);
    // A config.yaml that does not exist is no project.
    await rememberProject(projectPaths({ home, configPath: join(base, 'none', 'config.yaml'), env: {} }));
    const known = await knownProjects(home);
    expect(known.map((k) => [k.name, k.configPath, k.lockPath])).toEqual([
      ['press', join(base, 'blog', 'config.yaml'), join(base, 'blog', 'iii.lock')],
      ['shop', join(base, 'shop', 'config.yaml'), join(base, 'shop', 'iii.lock')],
    ]);
    expect(known.find((k) => k.name === 'shop')?.key).toBe(shop.key);
  });

  it('writes a record again only when the project changed or its last use is over an hour old', async () => {
    const shop = projectPaths({ home, configPath: join(base, 'shop', 'config.yaml'), env: {} });
    const at = (iso: string) => () => new Date(iso);
    const lastUsed = async () =>
      (JSON.parse(await readFile(join(shop.dir, 'project.json'), 'utf8')) as { lastUsed: string }).lastUsed;
    await rememberProject(shop, at('2026-01-01T10:00:00.000Z'));
    expect(await lastUsed()).toBe('2026-01-01T10:00:00.000Z');
    await rememberProject(shop, at('2026-01-01T10:59:00.000Z'));
    expect(await lastUsed()).toBe('2026-01-01T10:00:00.000Z');
    await rememberProject(shop, at('2026-01-01T11:00:00.000Z'));
    expect(await lastUsed()).toBe('2026-01-01T11:00:00.000Z');
    // A clock set back is a change too.
    await rememberProject(shop, at('2026-01-01T09:00:00.000Z'));
    expect(await lastUsed()).toBe('2026-01-01T09:00:00.000Z');
    // Another name wins at once.
    await rememberProject({ ...shop, name: 'store' }, at('2026-01-01T09:01:00.000Z'));
    expect((await knownProjects(home)).find((k) => k.key === shop.key)?.name).toBe('store');
    await rememberProject(shop, at('2026-01-01T09:02:00.000Z'));
    expect((await knownProjects(home)).find((k) => k.key === shop.key)?.name).toBe('shop');
  });

  it('forgets a project whose config.yaml is gone', async () => {
    await rm(join(base, 'blog', 'config.yaml'));
    expect((await knownProjects(home)).map((k) => k.name)).toEqual(['shop']);
    const blog = projectPaths({ home, configPath: join(base, 'blog', 'config.yaml'), env: {} });
    await expect(readFile(join(blog.dir, 'project.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("reads each known project's pins, and says which iii.lock it could not read", async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    await writeFile(
      join(base, 'shop', 'iii.lock'),
      `version: 1\nworkers:\n  api:\n    image: x/api:1\n    digest: ${digest}\n    platform: linux/amd64\n`,
    );
    const [shop] = await pinsOfKnownProjects(home);
    expect(shop?.problem).toBeUndefined();
    expect(shop?.workers.api?.digest).toBe(digest);
    await writeFile(join(base, 'shop', 'iii.lock'), 'workers: [oops\n');
    const [broken] = await pinsOfKnownProjects(home);
    expect(broken?.problem).toMatch(/iii\.lock/);
    expect(broken?.workers).toEqual({});
  });
});
