// A project directory the user cannot read (root made it, say with `sudo iii` and the user's
// $III_HOME): the commands that ask whether `iii` runs must say they cannot tell, not answer
// "not running" and act on it (a prune would judge the running engine's images unused).
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalUser, type LocalUser, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf, letOthersTraverse, repoRoot } from './as-user.ts';
import { projectDirOf } from './project-paths.ts';

describe('a project directory another user owns', () => {
  let user: LocalUser | undefined;
  let restoreModes: (() => Promise<void>) | undefined;
  let dir = '';
  let home = '';
  let projectDir = '';
  const iii = (...args: string[]) => cliOf((user as LocalUser).name, dir, home).iii(...args);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('This test creates an ordinary user (useradd) to run iii as: run the tests as root.');
    }
    requireTools(['useradd', 'userdel', 'su']);
    user = await createLocalUser();
    dir = await mkdtemp(join(tmpdir(), 'iii-unreadable-'));
    home = join(dir, '.iii');
    await writeFile(join(dir, 'config.yaml'), 'workers: []\n');
    await chown(dir, user.uid, user.gid);
    await chown(join(dir, 'config.yaml'), user.uid, user.gid);
    restoreModes = await letOthersTraverse(repoRoot);
    // The user's $III_HOME, with the project's directory made by root.
    projectDir = projectDirOf(home, join(dir, 'config.yaml'));
    await mkdir(projectDir, { recursive: true, mode: 0o700 });
    await chown(home, user.uid, user.gid);
    await chown(join(home, 'projects'), user.uid, user.gid);
    await chmod(home, 0o700);
    await writeFile(join(projectDir, 'engine.json'), '{}\n', { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await restoreModes?.();
    await user?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('worker list says it cannot tell whether iii runs, and who owns the directory', async () => {
    const listed = await iii('worker', 'list');
    expect(listed.code).toBe(1);
    expect(listed.stdout).toBe('');
    expect(listed.stderr).not.toContain('not running');
    const lines = listed.stderr.trim().split('\n');
    expect(lines[0]).toBe(
      `Error: cannot tell whether iii runs: cannot read ${join(projectDir, 'engine.json')}: permission denied`,
    );
    expect(lines[1]).toContain(`${projectDir} belongs to root`);
    expect(lines[1]).toContain(`sudo chown -R ${(user as LocalUser).name} ${projectDir}`);

    const json = await iii('worker', 'list', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe('ENGINE_RECORD_UNREADABLE');
  });

  it('worker prune refuses rather than prune as if iii were stopped', async () => {
    const pruned = await iii('worker', 'prune', '--all', '--yes');
    expect(pruned.code).toBe(1);
    expect(pruned.stderr).toContain('Error: cannot tell whether iii runs');
    expect(pruned.stdout).not.toContain('Nothing to prune');
  });

  it('a directory of the user that it cannot read gets no guess about its owner', async () => {
    await chown(projectDir, (user as LocalUser).uid, (user as LocalUser).gid);
    await chmod(projectDir, 0o000);
    const listed = await iii('worker', 'list');
    expect(listed.code).toBe(1);
    expect(listed.stderr).toContain('Error: cannot tell whether iii runs');
    expect(listed.stderr).toContain(`Give yourself access to ${projectDir}`);
    expect(listed.stderr).not.toContain('belongs to');
  });
});
