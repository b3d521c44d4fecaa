// What happens to the workers when `iii` dies: its watchdog stops them within seconds; if the
// watchdog is gone too, `list`/`inspect` show the live sandboxes as orphaned and `cleanup` stops them.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { busybox, nodeWorker } from '@iii/tools/fixtures';
import { requireTools, runCommand } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOf, sandboxOf } from './project-paths.ts';
import { until } from './until.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));
/** The acceptance bound of the issue: the workers of a dead `iii` are gone within 10 s. */
const REAP_BOUND_MS = 10_000;
const WORKERS = ['busybox-worker', 'node-worker', 'quiet-worker'];

/**
 * A copy of the busybox fixture that prints one line and then sleeps. A worker that keeps printing
 * dies of SIGPIPE soon after `iii` (the reader of its output) is gone; a quiet one runs on, which
 * is what must not happen.
 */
async function quietImage(source: string, dir: string): Promise<string> {
  await runCommand('skopeo', ['copy', '--quiet', source, `oci:${dir}:quiet`]);
  await runCommand('umoci', [
    'config',
    '--image',
    `${dir}:quiet`,
    '--config.entrypoint',
    '/bin/sh',
    '--config.cmd',
    '-c',
    '--config.cmd',
    'echo quiet-worker up; exec sleep 1000000',
  ]);
  return `oci-layout:${dir}:quiet`;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface ListRow {
  name: string;
  status: string;
  pid?: number;
  stoppedAt?: string;
}

/** Cgroup directories of this `$III_HOME`'s containers (their ids carry a hash of its sandbox dir). */
async function cgroupsOf(home: string): Promise<string[]> {
  const prefix = `iii-${createHash('sha256')
    .update(sandboxOf(home, join(dirname(home), 'config.yaml')))
    .digest('hex')
    .slice(0, 8)}-`;
  const found: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      if (e.name.startsWith(prefix)) found.push(join(d, e.name));
      else if (depth < 5) await walk(join(d, e.name), depth + 1);
    }
  };
  await walk('/sys/fs/cgroup', 0);
  return found;
}

/** A process that runs (a zombie waiting for its parent does not). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * Everything of this `$III_HOME` still on the machine: processes that name it (runtime, watchdog)
 * or run inside one of its root filesystems (the workers), the given worker pids, its mounts, and
 * containers in its runtime root. Only this test's `$III_HOME` is looked at.
 */
async function leftovers(home: string, pids: number[]): Promise<string[]> {
  const found: string[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    if (!(await running(Number(p)))) continue;
    const cmd = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    const root = await readlink(`/proc/${p}/root`).catch(() => '');
    if (cmd.includes(home) || root.startsWith(home)) found.push(`process ${p}: ${cmd.trim()} (root ${root})`);
  }
  for (const pid of pids) if (await running(pid)) found.push(`worker pid ${pid}`);
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    if (line.includes(home)) found.push(`mount: ${line}`);
  }
  const runtimeRoot = join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'runtime', 'runc');
  for (const id of await readdir(runtimeRoot).catch(() => [] as string[])) found.push(`container ${id}`);
  return found;
}

async function watchdogPid(home: string): Promise<number | undefined> {
  const text = await readFile(
    join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'watchdog.json'),
    'utf8',
  ).catch(() => undefined);
  return text ? (JSON.parse(text) as { pid: number }).pid : undefined;
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {}
}

describe('workers do not outlive iii (runc, busybox and Node fixtures)', () => {
  let dir: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess | undefined;
  let engineOutput = '';
  /** Watchdogs this test saw, to stop in afterAll whatever a failure left. */
  const dogs = new Set<number>();

  const iii = async (...args: string[]): Promise<Result> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, cwd: dir });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const list = async (): Promise<{ rows: ListRow[]; orphans: { name?: string; pid: number }[] }> => {
    const r = await iii('worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { workers: ListRow[]; orphans: { name?: string; pid: number }[] };
    return { rows: json.workers, orphans: json.orphans };
  };

  /** Starts `iii` and waits until every worker runs; returns their pids in config.yaml order. */
  const startIii = async (): Promise<number[]> => {
    engineOutput = '';
    const child = spawn(process.execPath, [bin, 'start', '--port', '0'], { env, cwd: dir, stdio: 'pipe' });
    child.stdout?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (engineOutput += d.toString()));
    engine = child;
    const pids = await until(`every worker running (iii said: ${engineOutput})`, async () => {
      const { rows } = await list();
      // A worker stopped with `iii worker stop` in an earlier test stays stopped until started.
      for (const w of rows.filter((r) => r.status === 'stopped' && r.stoppedAt)) {
        await iii('worker', 'start', w.name);
      }
      const up = rows.filter((w) => w.status === 'running' && w.pid);
      return up.length === WORKERS.length ? up.map((w) => w.pid!) : undefined;
    });
    const dog = await watchdogPid(home);
    expect(dog, 'iii records its watchdog').toBeDefined();
    dogs.add(dog!);
    expect(await running(dog!)).toBe(true);
    return pids;
  };

  const killEngine = async (): Promise<void> => {
    const child = engine!;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah']);
    const [bb, node] = await Promise.all([busybox(), nodeWorker()]);
    dir = await mkdtemp(join(tmpdir(), 'iii-death-'));
    home = join(dir, 'home');
    env = { ...process.env, III_HOME: home, III_CONFIG_PATH: join(dir, 'config.yaml'), CI: 'true' };
    const quiet = await quietImage(bb.ref, join(dir, 'quiet-layout'));
    for (const [ref, name] of [
      [bb.ref, 'busybox-worker'],
      [node.ref, 'node-worker'],
      [quiet, 'quiet-worker'],
    ] as const) {
      const r = await iii('worker', 'add', ref, '--name', name);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    if (engine && engine.exitCode === null && engine.signalCode === null) await killEngine();
    for (const dog of dogs) {
      signal(dog, 'SIGCONT');
    }
    // Whatever a failed test left: stop it, so no process or mount outlives the test.
    if (home) await iii('worker', 'cleanup');
    for (const dog of dogs) signal(dog, 'SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses to clean up while iii runs, and replaces a watchdog killed meanwhile', async () => {
    const pids = await startIii();
    const c = await iii('worker', 'cleanup');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/^Error: iii is already running/m);
    for (const pid of pids) expect(await running(pid)).toBe(true);

    const first = (await watchdogPid(home))!;
    signal(first, 'SIGKILL');
    const second = await until('a new watchdog', async () => {
      const pid = await watchdogPid(home);
      return pid !== undefined && pid !== first && (await running(pid)) ? pid : undefined;
    });
    dogs.add(second);
    // The new watchdog is recorded just before iii says so.
    await until('iii reports the new watchdog', async () =>
      /watchdog .* exited; started a new one/.test(engineOutput),
    );
    for (const pid of pids) expect(await running(pid)).toBe(true);
  });

  it('kill -9 of iii: within 10 s no runtime process, worker process, container or overlay of its $III_HOME remains', async () => {
    const pids = (await list()).rows.map((w) => w.pid!).filter(Boolean);
    expect(pids).toHaveLength(3);
    expect(await leftovers(home, [])).not.toEqual([]);
    const killedAt = Date.now();
    await killEngine();

    let left = await leftovers(home, pids);
    while (left.length > 0 && Date.now() - killedAt < REAP_BOUND_MS) {
      await new Promise((r) => setTimeout(r, 200));
      left = await leftovers(home, pids);
    }
    expect(left, 'left 10 s after kill -9 of iii').toEqual([]);
    expect(
      await readFile(join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'watchdog.log'), 'utf8'),
    ).toMatch(/removed 3 container/);

    // Nothing runs, and nothing claims to.
    const { rows, orphans } = await list();
    expect(orphans).toEqual([]);
    expect(rows.map((w) => w.status)).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it('a sandbox that outlived iii and its watchdog is listed and inspected as orphaned; worker cleanup stops it', async () => {
    await startIii();
    // The chatty workers would die of SIGPIPE without iii: stop them first, so what runs is known.
    for (const name of ['busybox-worker', 'node-worker']) {
      const r = await iii('worker', 'stop', name, '--timeout', '2s');
      expect(r.code, r.stderr).toBe(0);
    }
    const quietPid = (await list()).rows.find((w) => w.name === 'quiet-worker')?.pid;
    expect(quietPid).toBeGreaterThan(0);
    const dog = (await watchdogPid(home))!;
    // Freeze the watchdog so it cannot act, kill iii, then kill the watchdog: both died at once.
    signal(dog, 'SIGSTOP');
    await killEngine();
    signal(dog, 'SIGKILL');
    await until('the watchdog gone', async () => !(await running(dog)));
    expect(await running(quietPid!)).toBe(true);

    const { rows, orphans } = await list();
    expect(rows.map((w) => [w.name, w.status, w.pid])).toEqual([
      ['busybox-worker', 'stopped', null],
      ['node-worker', 'stopped', null],
      ['quiet-worker', 'orphaned', quietPid],
    ]);
    expect(orphans.map((o) => [o.name, o.pid])).toEqual([['quiet-worker', quietPid]]);

    const text = await iii('worker', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^quiet-worker\s.*orphaned \(running without iii\)\s+\d+/m);
    expect(text.stderr).toMatch(
      /iii is not running, but 1 worker sandbox it started still runs.*`iii worker cleanup`/,
    );

    const inspect = await iii('worker', 'inspect', 'quiet-worker', '--json');
    expect(inspect.code, inspect.stderr).toBe(0);
    const details = JSON.parse(inspect.stdout) as { state: string; orphan: { pid: number } | null };
    expect(details.state).toMatch(/^orphaned: .*`iii worker cleanup`/);
    expect(details.orphan?.pid).toBe(quietPid);
    const inspectText = await iii('worker', 'inspect', 'quiet-worker');
    expect(inspectText.stdout).toMatch(/^State: +orphaned/m);
    const stopped = await iii('worker', 'inspect', 'busybox-worker', '--json');
    expect((JSON.parse(stopped.stdout) as { orphan: unknown }).orphan).toBeNull();

    const clean = await iii('worker', 'cleanup', '--json');
    expect(clean.code, clean.stderr).toBe(0);
    const report = JSON.parse(clean.stdout) as { containers: string[]; mounts: string[] };
    expect(report.containers).toHaveLength(1);
    expect(report.mounts).toHaveLength(1);
    expect(await leftovers(home, [quietPid!])).toEqual([]);
    expect((await list()).rows.map((w) => w.status)).toEqual(['stopped', 'stopped', 'stopped']);
    const again = await iii('worker', 'cleanup');
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/Nothing to clean up/);
  });

  it('system cleanup after kill -9 of iii and its watchdog: no container, mount or cgroup left, nothing started', async () => {
    const pids = await startIii();
    const dog = (await watchdogPid(home))!;
    expect(await cgroupsOf(home)).not.toEqual([]);
    signal(dog, 'SIGSTOP');
    await killEngine();
    signal(dog, 'SIGKILL');
    await until('the watchdog gone', async () => !(await running(dog)));
    // A cgroup whose container the runtime no longer knows (its runtime was killed mid-delete).
    const [someCgroup] = await cgroupsOf(home);
    const stray = join(
      someCgroup!,
      '..',
      `${someCgroup!
        .split('/')
        .at(-1)!
        .replace(/-[^-]+$/, '')}-stray`,
    );
    await mkdir(stray);

    const clean = await iii('system', 'cleanup', '--json');
    expect(clean.code, clean.stderr).toBe(0);
    const report = JSON.parse(clean.stdout) as { containers: string[]; mounts: string[]; cgroups: string[] };
    expect(report.cgroups).toContain(stray);
    expect(await leftovers(home, pids)).toEqual([]);
    expect(await cgroupsOf(home)).toEqual([]);
    // Nothing was started: no engine, no worker, nothing that claims to run, also a moment later.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await leftovers(home, pids)).toEqual([]);
    // The killed iii's record may remain; no process of it runs.
    const record = await readFile(recordOf(home, join(dirname(home), 'config.yaml')), 'utf8').catch(
      () => undefined,
    );
    if (record) expect(await running((JSON.parse(record) as { pid: number }).pid)).toBe(false);
    expect((await list()).rows.map((w) => w.status)).toEqual(['stopped', 'stopped', 'stopped']);
    const again = await iii('system', 'cleanup');
    expect(again.stderr).toMatch(/Nothing to clean up/);
  });

  it('a graceful stop is left to iii: workers get SIGTERM, the watchdog exits without acting', async () => {
    const pids = await startIii();
    const dog = (await watchdogPid(home))!;
    const child = engine!;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The busybox worker traps SIGTERM and says so: it was stopped by iii, not killed by the watchdog.
    const logs = await iii('worker', 'logs', 'busybox-worker', '-n', '5');
    expect(logs.stdout).toMatch(/busybox-worker: stopping/);
    expect(await leftovers(home, pids)).toEqual([]);
    expect(await running(dog)).toBe(false);
    expect(
      await readFile(join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'watchdog.log'), 'utf8'),
    ).toBe('');
    expect(existsSync(join(sandboxOf(home, join(dirname(home), 'config.yaml')), 'watchdog.json'))).toBe(
      false,
    );
  });
});
