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
