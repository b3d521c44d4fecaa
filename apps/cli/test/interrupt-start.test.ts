// Ctrl-C while `iii` is still starting its workers: it stops them and exits 0, with no container,
// mount or process left behind. The signal is sent from inside a runtime call that `iii` makes while
// starting (a wrapper around runc signals its parent, then runs runc), so it lands exactly while a
// child process runs: the moment where a library that watches child processes used to end `iii` at once.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { busybox, crashingImage } from '@iii/tools/fixtures';
import { freePort, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxOf } from './project-paths.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

describe('Ctrl-C while iii starts its workers (runc)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah']);
    dir = await mkdtemp(join(tmpdir(), 'iii-interrupt-'));
    env = {
      ...process.env,
      III_HOME: join(dir, 'home'),
      III_CONFIG_PATH: join(dir, 'config.yaml'),
      CI: 'true',
    };
    const image = await crashingImage(
      (await busybox()).ref,
      join(dir, 'layout'),
      'trap "exit 0" TERM INT; while true; do sleep 1; done',
    );
    for (const name of ['first', 'second']) {
      await run(process.execPath, [bin, 'worker', 'add', image, '--name', name], { env, cwd: dir });
    }
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stops what it started and exits 0, leaving no container, mount or process', async () => {
    // The first `runc delete` (clearing a worker's old container before it starts) sends SIGINT to iii.
    const wrapper = join(dir, 'interrupting-runc');
    const marker = join(dir, 'interrupted');
    await writeFile(
      wrapper,
      `#!/bin/sh\ncase " $* " in *" delete "*) if [ ! -e '${marker}' ]; then : > '${marker}'; kill -INT "$PPID"; sleep 0.5; fi;; esac\nexec runc "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    const engine = spawn(process.execPath, [bin, 'start', '--port', String(await freePort())], {
      env: { ...env, III_RUNTIME: wrapper },
      cwd: dir,
    });
    let output = '';
    engine.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => engine.once('exit', (c) => resolve(c)));
    expect(await readFile(marker, 'utf8').then(() => true), output).toBe(true);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^SIGINT: stopping$/m);
    expect(output).toMatch(/^stopped$/m);
    expect(output).not.toContain('watching config.yaml');

    const home = env.III_HOME!;
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .filter((l) => l.includes(home));
    expect(mounts).toEqual([]);
    const root = join(sandboxOf(home, env.III_CONFIG_PATH!), 'runtime', 'interrupting-runc');
    const { stdout } = await run('runc', ['--root', root, 'list', '-q']);
    expect(stdout.trim()).toBe('');
    const { stdout: ps } = await run('ps', ['-eo', 'args']);
    expect(ps.split('\n').filter((l) => l.includes(dir) && !l.includes('reaper-main'))).toEqual([]);
  }, 60_000);
});
