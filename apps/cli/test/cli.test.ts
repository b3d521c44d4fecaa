import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

async function iii(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { ...process.env, CI: 'true' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the iii binary', () => {
  it('lists the worker topic in --help', async () => {
    const { code, stdout } = await iii('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/TOPICS[\s\S]*worker/);
  });

  it('prints its version', async () => {
    const { code, stdout } = await iii('--version');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^@iii\/cli\/\d+\.\d+\.\d+/);
  });

  it('suggests `worker` for the typo `wroker`, exiting 2', async () => {
    const { code, stdout, stderr } = await iii('wroker');
    expect(code).toBe(2);
    expect(stdout + stderr).toMatch(/Did you mean: iii worker$/m);
  });

  it('ships a generated oclif manifest naming every command, so start-up does not scan commands', async () => {
    const manifest = JSON.parse(await readFile(new URL('../oclif.manifest.json', import.meta.url), 'utf8'));
    // Every built command file has its entry: a stale manifest would hide a command from `iii`.
    const dir = fileURLToPath(new URL('../dist/cli/commands/', import.meta.url));
    const files = (await readdir(dir, { recursive: true }))
      .filter((f) => f.endsWith('.js'))
      .map((f) => f.slice(0, -'.js'.length).split(sep).join(':'));
    expect(files).toContain('worker:list');
    expect(Object.keys(manifest.commands)).toEqual(expect.arrayContaining(files));
    // The packed package holds the manifest and the bundled executable that bin/run.js loads.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    const packed = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
      (f) => f.path,
    );
    expect(packed).toEqual(
      expect.arrayContaining(['oclif.manifest.json', 'bin/run.js', 'dist/cli/main.js', 'dist/index.js']),
    );
  });

  it('exits 2 with one error line and a hint on an unknown flag', async () => {
    const { code, stderr } = await iii('worker', 'list', '--no-such-flag');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Error: .*no-such-flag/m);
  });
});

describe('the repository', () => {
  it('runs exactly the README test command in CI', async () => {
    const readme = await readFile(`${repoRoot}README.md`, 'utf8');
    const ci = await readFile(`${repoRoot}.ci/run`, 'utf8');
    const command = readme.match(/<!-- test-command -->\s*```sh\n(.+)\n```/)?.[1];
    expect(command).toBeTruthy();
    expect(ci.split('\n')).toContain(command);
  });
});
