// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config.yaml text with literal ${VAR} placeholders.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Logger, registerWorker } from '@iii/sdk';
import { busybox, crashingImage, pushFixture } from '@iii/tools/fixtures';
import { freePort, requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { sandboxOf } from './project-paths.ts';
import { until } from './until.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface ListRow {
  name: string;
  status: string;
  pid?: number;
  restarts: number;
  lastExitCode?: number;
  error?: string;
}

describe('iii runs config.yaml workers end to end (runc, real registry)', () => {
  let registry: TestRegistry;
  let dir: string;
  let home: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess;
  let engineOutput = '';
  let engineExit: Promise<number | null>;

  const iii = async (...args: string[]): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, cwd: dir });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const list = async (): Promise<ListRow[]> => {
    const r = await iii('worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { workers: ListRow[] }).workers;
  };
  const row = async (name: string) => (await list()).find((w) => w.name === name);
  const greeting = async (): Promise<string | undefined> => {
    const r = await iii('trigger', 'node-worker::env', '--timeout', '5s');
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { greeting?: string }).greeting;
  };

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    await pushFixture('busybox', registry, 'iii/busybox-worker:1');
    dir = await mkdtemp(join(tmpdir(), 'iii-life-'));
    home = join(dir, 'home');
    port = await freePort();
    env = { ...process.env, III_HOME: home, III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' };
    delete env.III_E2E_MISSING;
    const crashRef = await crashingImage((await busybox()).ref, join(dir, 'crashy-layout'));
    for (const args of [
      [`${registry.host}/iii/node-worker:1`, '--name', 'node-worker'],
      [`${registry.host}/iii/busybox-worker:1`, '--name', 'busybox-worker'],
      [`${registry.host}/iii/busybox-worker:1`, '--name', 'broken'],
      [crashRef, '--name', 'crashy'],
    ]) {
      const r = await iii('worker', 'add', ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    // ${VAR:default} for the node worker, ${MISSING} for the broken one.
    const configPath = join(dir, 'config.yaml');
    const doc = parseDocument(await readFile(configPath, 'utf8'));
    doc.setIn(['workers', 0, 'config', 'GREETING'], '${III_E2E_GREETING:greeting-from-default}');
    doc.setIn(['workers', 1, 'config', 'GREETING'], '${III_E2E_GREETING:greeting-from-default}');
    doc.setIn(['workers', 2, 'config', 'TOKEN'], '${III_E2E_MISSING}');
    // The busybox image's III_URL default (ws://localhost:49134) stays in config:, as `add` copied
    // it: the worker still gets the engine's real address on its test port.
    expect(doc.getIn(['workers', 1, 'config', 'III_URL'])).toBe('ws://localhost:49134');
    await writeFile(configPath, doc.toString());

    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      env,
      cwd: dir,
      stdio: 'pipe',
    });
    engine.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engineExit = new Promise((resolve) => engine.once('exit', (code) => resolve(code)));
    await until('both workers running', async () => {
      const rows = await list();
      const up = (n: string) => rows.find((w) => w.name === n)?.status === 'running';
      return up('node-worker') && up('busybox-worker');
    });
  });

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await engineExit;
    }
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts both workers with pids, and the node worker answers with its interpolated config', async () => {
    const rows = await list();
    for (const name of ['node-worker', 'busybox-worker']) {
      const w = rows.find((r) => r.name === name);
      expect(w?.status).toBe('running');
      expect(w?.pid).toBeGreaterThan(0);
    }
    expect(await until('node-worker::env', greeting)).toBe('greeting-from-default');
    const table = await iii('worker', 'list');
    expect(table.stdout).toMatch(/^NAME\s+IMAGE\s+STATUS\s+PID\s+UPTIME\s+CONNECTED\s+RESTARTS/m);
    expect(table.stdout).toMatch(/^node-worker\s+\S+\s+running\s+\d+/m);
  });

  it('reports and skips a worker whose config uses an unset variable', async () => {
    const broken = await row('broken');
    expect(broken?.status).toBe('not started');
    expect(broken?.error).toMatch(/III_E2E_MISSING/);
    expect(engineOutput).toMatch(/broken.*III_E2E_MISSING/);
  });

  it('restarts a worker that crashes on start with backoff, and lists its restarts and exit code', async () => {
    const crashy = await until('crashy restarted', async () => {
      const w = await row('crashy');
      return w && w.restarts >= 1 && w.lastExitCode === 3 ? w : undefined;
    });
    expect(crashy.lastExitCode).toBe(3);
    expect(await greeting()).toBe('greeting-from-default');
  });

  it('execs in the busybox worker: injected env, exit codes, timeout', async () => {
    const cat = await until('env.txt', async () => {
      const r = await iii('worker', 'exec', 'busybox-worker', '--', 'cat', '/tmp/env.txt');
      return r.code === 0 ? r : undefined;
    });
    expect(cat.stdout).toContain(`III_ENGINE_URL=ws://127.0.0.1:${port}`);
    expect(cat.stdout).toContain('GREETING=greeting-from-default');
    expect(cat.stdout).toContain('III_WORKER_NAME=busybox-worker');
    const three = await iii('worker', 'exec', 'busybox-worker', '--', 'sh', '-c', 'exit 3');
    expect(three.code, three.stderr).toBe(3);
    const slow = await iii('worker', 'exec', 'busybox-worker', '--timeout', '500ms', '--', 'sleep', '30');
    expect(slow.code, slow.stderr).toBe(124);
    const withEnv = await iii(
      'worker',
      'exec',
      'busybox-worker',
      '-e',
      'EXTRA=1',
      '-w',
      '/tmp',
      '--',
      'sh',
      '-c',
      'echo $EXTRA $PWD',
    );
    expect(withEnv.stdout.trim()).toBe('1 /tmp');
  });

  it('forwards Ctrl-C to an exec command, and kills it on a second Ctrl-C within a second', async () => {
    const execWith = async (
      script: string,
      interrupts: number,
    ): Promise<{ code: number | null; out: string }> => {
      const child = spawn(
        process.execPath,
        [bin, 'worker', 'exec', 'busybox-worker', '--', 'sh', '-c', script],
        {
          env,
          cwd: dir,
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await until('the command to start', async () => out.includes('ready'));
      for (let i = 0; i < interrupts; i++) {
        child.kill('SIGINT');
        await new Promise((r) => setTimeout(r, 200));
      }
      return { code: await exited, out };
    };
    const trapped = await execWith(
      'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 1; done',
      1,
    );
    expect(trapped.out).toContain('got-int');
    expect(trapped.code).toBe(7);
    const stubborn = await execWith('trap "" INT; echo ready; sleep 30', 2);
    expect(stubborn.code).toBe(130);
  });

  it('prints the last lines of a worker log, and follows new ones', async () => {
    const last = await until('5 log lines', async () => {
      const r = await iii('worker', 'logs', 'busybox-worker', '-n', '5');
      const lines = r.stdout.split('\n').filter(Boolean);
      return lines.length === 5 ? lines : undefined;
    });
    expect(last.every((l) => /^busybox-worker/.test(l))).toBe(true);
    const seen = Math.max(...last.map((l) => Number(/line (\d+)/.exec(l)?.[1] ?? 0)));
    const stamped = await iii('worker', 'logs', 'busybox-worker', '-n', '3', '--timestamps');
    const stampedLines = stamped.stdout.split('\n').filter(Boolean);
    expect(stampedLines).toHaveLength(3);
    for (const l of stampedLines)
      expect(l).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z busybox-worker/);
    const recent = await iii('worker', 'logs', 'busybox-worker', '--since', '1h', '-n', '1000');
    expect(recent.stdout.split('\n').filter(Boolean).length).toBeGreaterThan(5);
    const future = await iii('worker', 'logs', 'busybox-worker', '--since', '2999-01-01T00:00:00Z');
    expect(future.stdout).toBe('');

    const follow = spawn(process.execPath, [bin, 'worker', 'logs', 'busybox-worker', '-f', '-n', '0'], {
      env,
      cwd: dir,
    });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('a new line', async () => {
        const ns = [...out.matchAll(/line (\d+)/g)].map((m) => Number(m[1]));
        return ns.some((n) => n > seen);
      });
    } finally {
      follow.kill('SIGINT');
    }
  });

  it('shows lines a worker logs through the SDK in its logs, and none that another client logs in its name', async () => {
    // A client outside every sandbox claims to be node-worker and logs: the kernel says no process
    // of node-worker holds its connection, so the engine drops the line and says so in its output.
    const outsider = registerWorker(`ws://127.0.0.1:${port}`, { workerName: 'node-worker' });
    try {
      new Logger(outsider).info('forged by an outsider');
      await until('the engine to drop the outsider line', async () =>
        /dropped SDK log lines from 127\.0\.0\.1:\d+: no worker of this project holds/.test(engineOutput)
          ? true
          : undefined,
      );
    } finally {
      await outsider.shutdown();
    }
    // The worker itself logs through the engine from inside its sandbox: that line is its own.
    const logged = await iii(
      'trigger',
      'node-worker::log',
      '--data',
      '{"message":"hello from inside","data":{"n":1}}',
    );
    expect(logged.code, logged.stderr).toBe(0);
    const found = await until('the worker line in its logs', async () => {
      const r = await iii('worker', 'logs', 'node-worker', '-n', '200');
      return r.stderr.includes('[warn] hello from inside {"n":1}') ? r : undefined;
    });
    expect(found.stdout).not.toContain('hello from inside');
    expect(`${found.stdout}${found.stderr}`).not.toContain('forged by an outsider');
  });

  it('stops, starts and restarts a worker through the engine', async () => {
    const stop = await iii('worker', 'stop', 'node-worker', '--timeout', '5s');
    expect(stop.code, stop.stderr).toBe(0);
    const stopped = await row('node-worker');
    expect(stopped?.status).toBe('stopped');
    expect(stopped?.pid).toBeNull();
    const gone = await until('function gone', async () => {
      const r = await iii('trigger', 'node-worker::env', '--timeout', '2s');
      return r.code !== 0 ? r : undefined;
    });
    expect(gone.stderr).toMatch(/function_not_found|not found/);

    expect((await iii('worker', 'start', 'node-worker')).code).toBe(0);
    expect(await until('node-worker answers again', greeting)).toBe('greeting-from-default');

    const before = (await row('busybox-worker'))?.pid;
    const restart = await iii('worker', 'restart', 'busybox-worker', '--timeout', '5s');
    expect(restart.code, restart.stderr).toBe(0);
    const after = await until('busybox-worker running again', async () => {
      const w = await row('busybox-worker');
      return w?.status === 'running' && w.pid !== before ? w : undefined;
    });
    expect(after.pid).toBeGreaterThan(0);
  });

  it('starts a worker added after iii began at once, and runs it from the local cache without the registry', async () => {
    // This busybox worker never connects to the engine: do not wait for it.
    const add = await iii(
      'worker',
      'add',
      `${registry.host}/iii/busybox-worker:1`,
      '--name',
      'late',
      '--no-wait',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain('worker "late" is starting');
    await until('late started by add', async () => (await row('late'))?.status === 'running');
    // Nothing may be pulled now: the registry is gone; a restart runs it from the local cache.
    await registry.stop();
    const restart = await iii('worker', 'restart', 'late');
    expect(restart.code, restart.stderr).toBe(0);
    const late = await until('late running', async () => {
      const w = await row('late');
      return w?.status === 'running' ? w : undefined;
    });
    expect(late.pid).toBeGreaterThan(0);

    const inspect = await iii('worker', 'inspect', 'late', '--json');
    expect(inspect.code, inspect.stderr).toBe(0);
    const details = JSON.parse(inspect.stdout) as { run: ListRow | null; logs: string };
    expect(details.run).toMatchObject({ status: 'running', pid: late.pid });
    expect(details.logs).toContain(sandboxOf(home, join(dir, 'config.yaml')));

    const remove = await iii('worker', 'remove', 'late', '-y');
    expect(remove.code, remove.stderr).toBe(0);
    expect(remove.stderr).toMatch(/Stopped worker "late"/);
    expect((await list()).map((w) => w.name)).not.toContain('late');
    expect(() => process.kill(late.pid!, 0)).toThrow();
  });

  it('names unknown workers clearly', async () => {
    const r = await iii('worker', 'stop', 'no-such-worker');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*no-such-worker/m);
  });

  it('stops everything on Ctrl-C and leaves no container, mount or process behind', async () => {
    const pids = (await list()).map((w) => w.pid).filter((p): p is number => typeof p === 'number');
    engine.kill('SIGINT');
    expect(await engineExit).toBe(0);

    const root = join(sandboxOf(home, join(dir, 'config.yaml')), 'runtime', 'runc');
    const { stdout } = await run('runc', ['--root', root, 'list', '--quiet']);
    expect(stdout.trim()).toBe('');
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(home);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const leftovers: string[] = [];
    for (const p of await readdir('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes(home)) leftovers.push(cmd.replaceAll('\0', ' '));
    }
    expect(leftovers).toEqual([]);
  });

  it('without iii: list falls back to config.yaml, start says to run iii, logs still work', async () => {
    const l = await iii('worker', 'list');
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/^node-worker\s+\S+\s+stopped/m);
    expect(l.stderr).toMatch(/not running/);
    const s = await iii('worker', 'start', 'node-worker');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^Error: iii is not running/m);
    expect(s.stderr).toMatch(/`iii`/);
    const logs = await iii('worker', 'logs', 'busybox-worker', '-n', '2');
    expect(logs.stdout.split('\n').filter(Boolean)).toHaveLength(2);
  });
});
