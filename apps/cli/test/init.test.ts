import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The built `iii` binary, as users run it.
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const sdkVersion = JSON.parse(
  await readFile(fileURLToPath(new URL('../../../packages/sdk/package.json', import.meta.url)), 'utf8'),
).version as string;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'iii-init-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function iii(args: string[]) {
  return execa(process.execPath, [bin, ...args], {
    cwd: root,
    reject: false,
    env: { III_HOME: join(root, '.iii-home'), NODE_NO_WARNINGS: '1' },
  });
}

describe('iii init', () => {
  it('scaffolds a worker named after its directory and prints the next steps', async () => {
    const result = await iii(['init', 'greeter', '--lang', 'python']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Created the python worker greeter in greeter (function greeter::hello)');
    expect(result.stderr).toContain('iii worker build -t greeter:0.1.0');
    expect(result.stderr).toContain('iii trigger greeter::hello');
    expect((await readdir(join(root, 'greeter'))).sort()).toEqual([
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'README.md',
      'iii.worker.yaml',
      'requirements.txt',
      'worker.py',
    ]);
    expect(await readFile(join(root, 'greeter', 'worker.py'), 'utf8')).toContain('"greeter::hello"');
  });

  it('uses --name and prints only JSON on stdout with --json', async () => {
    const result = await iii(['init', 'w', '--lang', 'rust', '--name', 'fast-one', '--json']);
    expect(result.exitCode).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ lang: 'rust', name: 'fast-one', functionId: 'fast-one::hello' });
    expect(json.files).toContain('Cargo.toml');
    expect(json.nextSteps).toContain('iii worker build -t fast-one:0.1.0');
  });

  it('makes a node project depend on the matching @iii/sdk release, or the spec given', async () => {
    expect((await iii(['init', 'a', '--lang', 'node'])).exitCode).toBe(0);
    const a = JSON.parse(await readFile(join(root, 'a', 'package.json'), 'utf8'));
    expect(a.dependencies['@iii/sdk']).toBe(`^${sdkVersion}`);

    expect((await iii(['init', 'b', '--lang', 'node', '--sdk-version', 'file:./sdk.tgz'])).exitCode).toBe(0);
    const b = JSON.parse(await readFile(join(root, 'b', 'package.json'), 'utf8'));
    expect(b.dependencies['@iii/sdk']).toBe('file:./sdk.tgz');
  });

  it('refuses a directory that is not empty and changes nothing in it', async () => {
    await writeFile(join(root, 'keep.txt'), 'mine');
    const result = await iii(['init', '.', '--lang', 'node', '--name', 'w']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^Error: directory .* is not empty\nPick a new or empty directory/m);
    expect((await readdir(root)).sort()).toEqual(['keep.txt']);
  });

  it('rejects an invalid worker name with what to do about it', async () => {
    const result = await iii(['init', 'bad name', '--lang', 'node']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error: invalid worker name "bad name"');
    expect(result.stderr).toContain('--name');
  });

  it('treats a missing or unknown --lang as a usage error', async () => {
    expect((await iii(['init', 'x'])).exitCode).toBe(2);
    const result = await iii(['init', 'x', '--lang', 'cobol']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('node, python, rust');
  });
});
