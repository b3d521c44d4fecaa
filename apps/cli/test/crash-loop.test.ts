// A worker that exits at once, next to a healthy one, for about a minute: what `list` and `inspect`
// show of the crash loop, and that the healthy worker is not disturbed (built `iii`, runc, registry).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, crashingImage, pushFixture } from '@iii/tools/fixtures';
import { freePort, requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

/** How long the two workers run side by side before the checks. */
const SOAK_MS = 60_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Row {
  name: string;
  status: string;
  pid?: number;
  restarts: number;
  connected?: boolean;
  lastExitCode?: number;
  nextRestartAt?: string;
  lastOutput?: string[];
}

describe('a crash-looping worker beside a healthy one (about a minute, runc, real registry)', () => {
  let registry: TestRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess | undefined;
  let engineExit: Promise<number | null>;
  let engineOutput = '';
  /** Every trigger of the healthy worker during the soak, and every list row of it. */
  const answers: Result[] = [];
  const healthyRows: Row[] = [];
  let healthyPid: number | undefined;

  const iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [bin, ...args], { env, cwd: dir }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
  const list = async (): Promise<Row[]> => {
    const r = await iii('worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { workers: Row[] }).workers;
  };
  const row = async (name: string) => (await list()).find((w) => w.name === name);

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    dir = await mkdtemp(join(tmpdir(), 'iii-crashloop-'));
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    env = { ...base, III_HOME: join(dir, 'home'), III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' };
    const crashRef = await crashingImage((await busybox()).ref, join(dir, 'crashy-layout'));
    for (const args of [
      [`${registry.host}/iii/node-worker:1`, '--name', 'healthy'],
      [crashRef, '--name', 'crashy'],
    ]) {
      const r = await iii('worker', 'add', ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    const port = await freePort();
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
      env,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    engine.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engineExit = new Promise((resolve) => engine?.once('exit', (code) => resolve(code)));
    await until('the healthy worker answers', async () => {
      const r = await iii('trigger', 'node-worker::env', '--timeout', '5s');
      return r.code === 0;
    });
    healthyPid = (await row('healthy'))?.pid;

    // Side by side for a minute: the healthy worker is called and listed all along.
    const end = Date.now() + SOAK_MS;
    while (Date.now() < end) {
      answers.push(await iii('trigger', 'node-worker::env', '--timeout', '10s'));
      const h = await row('healthy');
      if (h) healthyRows.push(h);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }, 400_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGTERM');
      await engineExit;
    }
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the healthy worker connected, triggerable and never restarted', async () => {
    expect(answers.length).toBeGreaterThan(3);
    for (const a of answers) {
      expect(a.code, `${a.stderr}\niii output:\n${engineOutput}`).toBe(0);
      expect(JSON.parse(a.stdout)).toEqual({ greeting: 'hello-from-image' });
    }
    expect(healthyPid).toBeGreaterThan(0);
    for (const h of [...healthyRows, await row('healthy')]) {
      expect(h).toMatchObject({ status: 'running', restarts: 0, pid: healthyPid, connected: true });
    }
  });

  it('list shows the crashing worker restarting, its restarts, last exit code, next retry and last output', async () => {
    const crashy = await until('crashy between two runs', async () => {
      const w = await row('crashy');
      return w?.status === 'restarting' ? w : undefined;
    });
    // Backoff 1 s doubling: a minute holds several restarts, without any exact count.
    expect(crashy.restarts).toBeGreaterThanOrEqual(3);
    expect(crashy.lastExitCode).toBe(3);
    expect(Number.isNaN(Date.parse(crashy.nextRestartAt ?? ''))).toBe(false);
    expect(crashy.lastOutput).toContain('crashing');

    const text = await iii('worker', 'list');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^crashy\s.*\b(restarting \(exit 3, retry in \w+\)|starting|running)/m);
    // NAME IMAGE STATUS PID UPTIME CONNECTED RESTARTS: running, connected, never restarted.
    expect(text.stdout).toMatch(/^healthy\s.*\brunning\s+\d+\s+\S+\s+yes\b.*\s0$/m);
    expect(text.stdout).toContain('Last output of crashy:\n  | crashing');
    expect(text.stdout).not.toContain('Last output of healthy');
  });

  it('inspect shows the same: restarts, last exit code, next retry and the last lines of output', async () => {
    const details = await until('crashy inspected between two runs', async () => {
      const r = await iii('worker', 'inspect', 'crashy', '--json');
      if (r.code !== 0) return undefined;
      const d = JSON.parse(r.stdout) as { run: Row | null };
      return d.run?.status === 'restarting' ? d.run : undefined;
    });
    expect(details.restarts).toBeGreaterThanOrEqual(3);
    expect(details.lastExitCode).toBe(3);
    expect(Number.isNaN(Date.parse(details.nextRestartAt ?? ''))).toBe(false);
    expect(details.lastOutput).toContain('crashing');

    const text = await iii('worker', 'inspect', 'crashy');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Restarts: +\d+$/m);
    expect(text.stdout).toMatch(/^Last exit: +3$/m);
    expect(text.stdout).toMatch(/^Last output:\n {2}\| crashing$/m);
  });
});
