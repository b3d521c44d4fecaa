import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { runCommand } from '../test-env/run-command.ts';
import { publicPackages, repoRoot, workspacePackages } from './packages.ts';

const run = promisify(execFile);

export interface ReleaseResult {
  /** The copy the release ran in (its package.json files carry the released version). */
  dir: string;
  /** The one version every public package was published with. */
  version: string;
  names: string[];
  output: string;
}

/**
 * Runs `npm run release` (changesets: version, build, publish) in a copy of this checkout, so the
 * checkout itself keeps its versions and changesets. The copy holds the files git tracks or would
 * track (uncommitted work included), its own git repository (changesets tags the release), and a
 * node_modules of links: third-party packages from the checkout's, the workspace packages from the
 * copy. `npmrc` is the npm config the publish uses (registry and token).
 */
export async function releaseCopy(npmrc: string, registryUrl: string): Promise<ReleaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'iii-release-'));
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    maxBuffer: 64 << 20,
  });
  const files = stdout.split('\0').filter(Boolean);
  await runCommand('tar', ['-C', repoRoot, '--ignore-failed-read', '-cf', join(dir, '.files.tar'), ...files]);
  await runCommand('tar', ['-C', dir, '-xf', join(dir, '.files.tar')]);
  await runCommand('rm', [join(dir, '.files.tar')]);

  const modules = join(dir, 'node_modules');
  await mkdir(modules);
  for (const entry of await readdir(join(repoRoot, 'node_modules'))) {
    if (entry === '@iii') continue;
    await symlink(join(repoRoot, 'node_modules', entry), join(modules, entry));
  }
  for (const pkg of workspacePackages(dir)) {
    const link = join(modules, pkg.name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(pkg.dir, link);
    // A dependency whose range the root's copy does not satisfy (p-limit 7 for @iii/oci, say) is
    // installed in the package's own node_modules: the copy needs that one too.
    const own = join(repoRoot, relative(dir, pkg.dir), 'node_modules');
    if (existsSync(own)) await symlink(own, join(pkg.dir, 'node_modules'));
  }
  const git = (...args: string[]) =>
    runCommand('git', ['-c', 'user.name=release test', '-c', 'user.email=release@example.invalid', ...args], {
      cwd: dir,
    });
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'release under test');

  const output = await runCommand('npm', ['run', 'release'], {
    cwd: dir,
    env: {
      ...process.env,
      npm_config_userconfig: npmrc,
      npm_config_registry: registryUrl,
      NX_DAEMON: 'false',
      NX_NO_CLOUD: 'true',
      NX_TUI: 'false',
    },
  });
  const released = publicPackages(dir);
  return {
    dir,
    version: released[0]!.version,
    names: released.map((p) => p.name),
    output,
  };
}
