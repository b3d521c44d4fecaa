import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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

  it('ships a generated oclif manifest so start-up does not scan commands', async () => {
    const manifest = JSON.parse(await readFile(new URL('../oclif.manifest.json', import.meta.url), 'utf8'));
    expect(Object.keys(manifest.commands).length).toBeGreaterThan(0);
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
