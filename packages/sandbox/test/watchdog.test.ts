import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { which } from '../src/runtime/detect.js';
import {
  createDriver,
  isRunningProcess,
  readMountsForTest,
  removeLeftovers,
  Sandbox,
  waitForOrphanedWatchdog,
  workerPaths,
} from './harness.js';

const ENGINE = 'ws://127.0.0.1:49134';
const holder = fileURLToPath(new URL('./programs/hold-sandbox.ts', import.meta.url));

let image: string;
let scratch: string;
/** Holder processes, and the state directories used, to clear whatever a failed test left. */
const holders: number[] = [];
const stateDirs: string[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'iii-watchdog-test-'));
  const { buildBusyboxRootfs } = await import('./busybox-rootfs.js');
  image = await buildBusyboxRootfs(scratch);
});

afterAll(async () => {
  for (const pid of holders) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  // A watchdog still at work is left to finish, then anything left is removed, before the files go.
  for (const stateDir of stateDirs) {
    await waitForOrphanedWatchdog(stateDir, 20_000);
    const runc = await which('runc', process.env);
    if (runc) await removeLeftovers({ stateDir, drivers: [createDriver('runc', runc, stateDir)] });
  }
  await rm(scratch, { recursive: true, force: true });
});

async function newStateDir(): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'state-'));
  stateDirs.push(dir);
  return dir;
}

async function until(what: string, probe: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a process that opens a sandbox on `stateDir` and runs worker `held`; never closes it. */
async function holdSandbox(stateDir: string): Promise<{ owner: number; worker: number; watchdog: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, stateDir, image], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  holders.push(child.pid!);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await Promise.race([
    until('the holder to be ready', async () => /^ready \d+ \d+/m.test(out), 120_000),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the holder exited with ${code}`);
    }),
  ]);
  const [, worker, watchdog] = /^ready (\d+) (\d+)/m.exec(out)!.map(Number) as [number, number, number];
  return { owner: child.pid!, worker, watchdog };
}

describe('the sandbox watchdog (runc)', () => {
  it('stops the workers of an owner killed with SIGKILL, and a new owner waits for it before starting', async () => {
    const stateDir = await newStateDir();
    const held = await holdSandbox(stateDir);
    const paths = workerPaths(stateDir, 'held');
    expect((await readMountsForTest()).some((m) => m.mountPoint === paths.rootfs)).toBe(true);

    process.kill(held.owner, 'SIGKILL');
    // At once, as `iii` restarted by a supervisor would: open must wait for the reaping watchdog,
    // or it would kill the worker started below.
    // A given driver skips probing, so open is as quick as it gets.
    const driver = createDriver('runc', (await which('runc', process.env))!, stateDir);
    const next = await Sandbox.open({ stateDir, driver, watchdog: false });
    expect(await isRunningProcess(held.watchdog)).toBe(false);
    expect(await isRunningProcess(held.worker)).toBe(false);
    expect((await readMountsForTest()).some((m) => m.mountPoint === paths.rootfs)).toBe(false);
    expect(await readdir(join(stateDir, 'runtime', 'runc'))).toEqual([]);
    expect(await readFile(join(stateDir, 'watchdog.log'), 'utf8')).toMatch(
      /removed 1 container\(s\), 1 mount/,
    );

    const w = await next.start({
      name: 'held',
      imageRootfs: image,
      imageConfig: { config: { Cmd: ['sh', '-c', 'exec sleep 100000'] } },
      engineUrl: ENGINE,
      restart: 'never',
    });
    await until('the new worker running', async () => w.state().status === 'running');
    expect(w.state().status).toBe('running');
    await next.close({ timeoutMs: 100 });
  });

  it('close() stops the workers, then the watchdog exits without acting', async () => {
    const stateDir = await newStateDir();
    const sandbox = await Sandbox.open({ stateDir, runtime: 'runc', strictRuntime: true });
    const dog = sandbox.watchdogPid!;
    expect(await isRunningProcess(dog)).toBe(true);
    const w = await sandbox.start({
      name: 'graceful',
      imageRootfs: image,
      imageConfig: {
        config: { Cmd: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 1; done'] },
      },
      engineUrl: ENGINE,
      restart: 'never',
    });
    await until('the worker running', async () => w.state().status === 'running');
    await sandbox.close({ timeoutMs: 5000 });
    expect(w.state()).toMatchObject({ status: 'stopped', exitCode: 0 });
    expect(await isRunningProcess(dog)).toBe(false);
    expect(await readFile(join(stateDir, 'watchdog.log'), 'utf8')).toBe('');
    expect(existsSync(join(stateDir, 'watchdog.json'))).toBe(false);
    await expect(
      sandbox.start({
        name: 'late',
        imageRootfs: image,
        imageConfig: { config: { Cmd: ['true'] } },
        engineUrl: ENGINE,
      }),
    ).rejects.toMatchObject({ code: 'SANDBOX_CLOSED' });
  });
});
