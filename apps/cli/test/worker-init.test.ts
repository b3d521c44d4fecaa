// A worker without a SIGTERM handler is PID 1 of its sandbox, where the kernel drops SIGTERM: iii runs
// tini as PID 1 so such a worker stops at once, and `init: false` keeps the old behaviour. Real runc,
// the busybox fixture made handlerless, and the node fixture written with the official iii-sdk
// (which installs no SIGTERM handler).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, handlerlessImage, nodeWorker } from '@iii/tools/fixtures';
import { freePort, requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { until } from './until.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Row {
  name: string;
  status: string;
  lastExitCode?: number;
}

describe('an init as PID 1 of each worker (runc, tini)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  const iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const t0 = Date.now();
      execFile(process.execPath, [bin, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      });
    });
  const inspect = async (name: string) => {
    const r = await iii('worker', 'inspect', name, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { init: boolean; argv: string[]; run: { init: boolean; argv: string[] } };
  };

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'tini-static']);
    dir = await mkdtemp(join(tmpdir(), 'iii-init-'));
    const port = await freePort();
    env = {
      ...process.env,
      III_HOME: join(dir, 'home'),
      III_CONFIG_PATH: join(dir, 'config.yaml'),
      CI: 'true',
      OTEL_ENABLED: 'false',
    };
    const handlerless = await handlerlessImage((await busybox()).ref, join(dir, 'handlerless-layout'));
    const node = await nodeWorker();
    for (const args of [
      [handlerless, '--name', 'handlerless'],
      [handlerless, '--name', 'handlerless-pid1'],
      [`oci-layout:${node.layout}:${node.tag}`, '--name', 'node-worker'],
    ]) {
      const r = await iii('worker', 'add', ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    const configPath = join(dir, 'config.yaml');
    const doc = parseDocument(await readFile(configPath, 'utf8'));
    doc.setIn(['workers', 1, 'init'], false);
    await writeFile(configPath, doc.toString());
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], { env, cwd: dir });
    engine.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => engine.once('exit', (code) => resolve(code)));
    await until('the three workers running', async () => {
      const r = await iii('worker', 'list', '--json');
      const rows = r.code === 0 ? (JSON.parse(r.stdout) as { workers: Row[] }).workers : [];
      return rows.length === 3 && rows.every((w) => w.status === 'running');
    });
  }, 180_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs tini as PID 1 with the worker argv unchanged below it, unless the entry says init: false', async () => {
    const withInit = await inspect('handlerless');
    expect(withInit.init).toBe(true);
    expect(withInit.run.init).toBe(true);
    expect(withInit.run.argv).toEqual(withInit.argv);
    const pid1 = await iii('worker', 'exec', 'handlerless', 'cat', '/proc/1/cmdline');
    expect(pid1.stdout.split('\0').slice(0, 2), pid1.stderr).toEqual(['/dev/init', '--']);

    const without = await inspect('handlerless-pid1');
    expect(without.init).toBe(false);
    expect(without.run.init).toBe(false);
    const own = await iii('worker', 'exec', 'handlerless-pid1', 'cat', '/proc/1/cmdline');
    expect(own.stdout.split('\0')[0], own.stderr).toBe('/bin/sh');
  });

  it('reaps an orphan that exits in the sandbox instead of leaving a zombie', async () => {
    // The background sleep outlives its shell, so it is re-parented to PID 1 (tini).
    const r = await iii('worker', 'exec', 'handlerless', 'sh', '-c', 'sleep 0.3 & echo $!');
    expect(r.code, r.stderr).toBe(0);
    const pid = r.stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    // A zombie keeps its /proc entry (state Z) until its parent waits for it.
    await until(
      `process ${pid} reaped`,
      async () => {
        const stat = await iii('worker', 'exec', 'handlerless', 'cat', `/proc/${pid}/stat`);
        return stat.code !== 0;
      },
      15_000,
    );
  });

  it('stops a worker without a SIGTERM handler at once, and reports that SIGTERM ended it', async () => {
    for (const name of ['handlerless', 'node-worker']) {
      // A long grace period, so that a stop that needed SIGKILL cannot pass for a quick one on a busy machine.
      const stop = await iii('worker', 'stop', name, '--timeout', '30s', '--json');
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.ms, name).toBeLessThan(15_000);
      const { worker } = JSON.parse(stop.stdout) as { worker: Row };
      expect(worker.status).toBe('stopped');
      expect(worker.lastExitCode, name).toBe(143);
    }
  });

  it('with init: false, the worker as PID 1 ignores SIGTERM and ends only by SIGKILL after the grace period', async () => {
    const stop = await iii('worker', 'stop', 'handlerless-pid1', '--timeout', '2s', '--json');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.ms).toBeGreaterThanOrEqual(2_000);
    const { worker } = JSON.parse(stop.stdout) as { worker: Row };
    expect(worker.status).toBe('stopped');
    expect(worker.lastExitCode).toBe(137);
  });
});
