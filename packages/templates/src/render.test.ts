import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextSteps } from './next-steps.js';
import { render } from './render.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'iii-render-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('render', () => {
  it('writes a node project whose files carry the worker name and no placeholders', async () => {
    const dir = join(root, 'hello-node');
    const result = await render({ lang: 'node', name: 'hello-node', dir, sdkVersion: '^0.1.0' });
    expect(result.functionId).toBe('hello-node::hello');
    expect(result.files).toEqual([
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'README.md',
      'build.mjs',
      'iii.worker.yaml',
      'package.json',
      'src/worker.ts',
      'tsconfig.json',
    ]);
    for (const file of result.files) {
      expect(await readFile(join(dir, file), 'utf8')).not.toMatch(/\{\{/);
    }
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('hello-node');
    expect(pkg.dependencies['@iii/sdk']).toBe('^0.1.0');
    expect(await readFile(join(dir, 'src/worker.ts'), 'utf8')).toContain("'hello-node::hello'");
    expect(await readFile(join(dir, 'iii.worker.yaml'), 'utf8')).toMatch(/^name: hello-node$/m);
  });

  it('writes python and rust projects with the name in their sources and manifests', async () => {
    const py = await render({ lang: 'python', name: 'Py.Worker', dir: join(root, 'py') });
    expect(py.files).toEqual([
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'README.md',
      'iii.worker.yaml',
      'requirements.txt',
      'worker.py',
    ]);
    expect(await readFile(join(py.dir, 'worker.py'), 'utf8')).toContain('"Py.Worker::hello"');

    const rs = await render({ lang: 'rust', name: 'Rs.Worker', dir: join(root, 'rs') });
    expect(rs.files).toEqual([
      '.dockerignore',
      '.gitignore',
      'Cargo.toml',
      'Dockerfile',
      'README.md',
      'iii.worker.yaml',
      'src/main.rs',
    ]);
    expect(await readFile(join(rs.dir, 'src/main.rs'), 'utf8')).toContain('"Rs.Worker::hello"');
    expect(await readFile(join(rs.dir, 'Cargo.toml'), 'utf8')).toContain('name = "rs-worker"');
  });

  it('starts iii.worker.yaml with the schema line for editors when given its URL', async () => {
    const url = 'https://example.com/worker.schema.json';
    for (const lang of ['node', 'python', 'rust'] as const) {
      await render({ lang, name: `w-${lang}`, dir: join(root, lang), workerSchemaUrl: url });
      const text = await readFile(join(root, lang, 'iii.worker.yaml'), 'utf8');
      expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${url}`);
      expect(text).toContain(`name: w-${lang}`);
    }
    await render({ lang: 'node', name: 'plain', dir: join(root, 'plain') });
    expect(await readFile(join(root, 'plain', 'iii.worker.yaml'), 'utf8')).not.toContain('$schema');
  });

  it('defaults the node sdk dependency to the latest published version', async () => {
    const result = await render({ lang: 'node', name: 'w', dir: join(root, 'w') });
    const pkg = JSON.parse(await readFile(join(result.dir, 'package.json'), 'utf8'));
    expect(pkg.dependencies['@iii/sdk']).toBe('latest');
  });

  it('refuses an sdk version that would break package.json', async () => {
    await expect(
      render({ lang: 'node', name: 'w', dir: join(root, 'w'), sdkVersion: '1", "evil": "x' }),
    ).rejects.toMatchObject({ code: 'INVALID_SDK_VERSION' });
  });

  it('refuses a directory that is not empty and leaves it untouched', async () => {
    await writeFile(join(root, 'keep.txt'), 'mine');
    await expect(render({ lang: 'node', name: 'w', dir: root })).rejects.toMatchObject({
      code: 'DIRECTORY_NOT_EMPTY',
      hint: expect.any(String),
    });
    expect(await readFile(join(root, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('fills an existing empty directory', async () => {
    const result = await render({ lang: 'python', name: 'w', dir: root });
    expect(result.files).toContain('worker.py');
  });

  it('refuses a path that is a file', async () => {
    const file = join(root, 'file');
    await writeFile(file, '');
    await expect(render({ lang: 'node', name: 'w', dir: file })).rejects.toMatchObject({
      code: 'NOT_A_DIRECTORY',
    });
  });

  it('refuses an invalid worker name or an unknown language before writing anything', async () => {
    const dir = join(root, 'x');
    await expect(render({ lang: 'node', name: '../evil', dir })).rejects.toMatchObject({
      code: 'INVALID_WORKER_NAME',
    });
    await expect(render({ lang: 'cobol', name: 'w', dir })).rejects.toMatchObject({
      code: 'UNKNOWN_LANGUAGE',
    });
    await expect(readFile(join(dir, 'Dockerfile'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('nextSteps', () => {
  it('goes from the project to a triggered worker, with no host build for node either', () => {
    expect(nextSteps({ lang: 'node', name: 'greeter', dir: 'greeter' })).toEqual([
      'cd greeter',
      'iii worker build -t greeter:0.1.0',
      `iii worker add oci-layout:\${III_HOME:-$HOME/.iii}/builds/greeter:0.1.0`,
      'iii',
      'iii trigger greeter::hello name=Ada',
    ]);
    expect(nextSteps({ lang: 'rust', name: 'r', dir: '.' })[0]).toBe('iii worker build -t r:0.1.0');
    expect(nextSteps({ lang: 'python', name: 'p', dir: 'my dir' })[0]).toBe("cd 'my dir'");
  });
});
