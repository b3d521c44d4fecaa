import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSpec,
  containerId,
  detectRuntime,
  findContainerCgroup,
  type LogLine,
  prepareRootfs,
  RuntimeUnavailableError,
  readCpuUsageNs,
  readMountsForTest,
  Sandbox,
  type SandboxOptions,
  type Worker,
  type WorkerDefinition,
  type WorkerState,
  workerPaths,
} from './harness.js';

const ENGINE = 'ws://127.0.0.1:49134';
const BUSY_SH = ['sh', '-c'];

let image: string;
let scratch: string;
let hostSecret: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'iii-sandbox-test-'));
  const { buildBusyboxRootfs } = await import('./busybox-rootfs.js');
  image = await buildBusyboxRootfs(scratch);
  hostSecret = join(scratch, 'host-only-secret');
  await writeFile(hostSecret, 'not for workers\n');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function def(name: string, cmd: string, extra: Partial<WorkerDefinition> = {}): WorkerDefinition {
  return {
    name,
    imageRootfs: image,
    imageConfig: { config: { Cmd: [...BUSY_SH, cmd], Env: ['FROM_IMAGE=image', 'SHARED=image'] } },
    engineUrl: ENGINE,
    restart: 'never',
    ...extra,
  };
}

async function lines(worker: Worker): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of worker.logs()) out.push(l);
  return out;
}

/** Resolves with the first state matching `pred` (the current one included). */
function waitForState(worker: Worker, pred: (s: WorkerState) => boolean): Promise<WorkerState> {
  return new Promise((resolve) => {
    const now = worker.state();
    if (pred(now)) return resolve(now);
    const on = (s: WorkerState) => {
      if (!pred(s)) return;
      worker.off('state', on);
      resolve(s);
    };
    worker.on('state', on);
  });
}

/** Waits until the worker has printed `text` on stdout. */
async function waitForOutput(worker: Worker, text: string): Promise<void> {
  const ac = new AbortController();
  for await (const l of worker.logs({ follow: true, signal: ac.signal, pollMs: 20 })) {
    if (l.line.includes(text)) {
      ac.abort();
      return;
    }
  }
}

function acceptance(runtime: string) {
  let sandbox: Sandbox;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(scratch, `state-${runtime}-`));
    sandbox = await Sandbox.open({ stateDir, runtime, strictRuntime: true } satisfies SandboxOptions);
    expect(sandbox.driver.name).toBe(runtime);
  });

  afterAll(async () => {
    await sandbox?.stopAll({ timeoutMs: 1000 });
  });

  it('runs the busybox worker with the env, cwd and user the spec says', async () => {
    const w = await sandbox.start(
      def('identity', 'id -u; id -g; id -G; pwd; env; echo "args:$*"', {
        imageConfig: {
          config: {
            User: 'app',
            WorkingDir: '/app',
            Entrypoint: ['sh', '-c', 'id -u; id -g; id -G; pwd; env; echo "args:$*"', 'sh'],
            Cmd: ['--url', 'ws://localhost:1'],
            Env: ['FROM_IMAGE=image', 'SHARED=image'],
          },
        },
        config: { SHARED: 'config', FROM_CONFIG: 'yes' },
      }),
    );
    const final = await w.whenDone();
    expect(final).toMatchObject({ status: 'exited', exitCode: 0, oomKilled: false });
    const out = (await lines(w)).filter((l) => l.stream === 'stdout').map((l) => l.line);
    expect(out.slice(0, 4)).toEqual(['1000', '1000', '1000 2000', '/app']);
    expect(out).toEqual(
      expect.arrayContaining([
        'FROM_IMAGE=image',
        'SHARED=config',
        'FROM_CONFIG=yes',
        'III_WORKER_NAME=identity',
        `III_ENGINE_URL=${ENGINE}`,
        `III_URL=${ENGINE}`,
        'HOME=/home/app',
        `args:--url ${ENGINE}`,
      ]),
    );
  });

  it('isolates a worker: no host files, no host processes, no other worker writes, image untouched', async () => {
    const a = await sandbox.start(def('iso-a', 'echo ready; exec sleep 1000', { restart: 'always' }));
    const b = await sandbox.start(def('iso-b', 'echo ready; exec sleep 1000', { restart: 'always' }));
    await waitForState(a, (s) => s.status === 'running');
    await waitForState(b, (s) => s.status === 'running');

    // Host files outside the rootfs are not there, even by their absolute host path.
    expect((await a.exec({ args: ['test', '-e', hostSecret] })).exitCode).toBe(1);
    expect((await a.exec({ args: ['cat', '/etc/hosts'] })).stdout).toContain('localhost');

    // Only the worker's own processes: the init (tini, at /dev/init) is pid 1, the worker below it,
    // and nothing of the host shows up.
    const ps = await a.exec({ args: ['ps', '-o', 'pid,ppid,comm'] });
    const procs = ps
      .stdout!.trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    expect(procs.map((p) => p[2])).not.toContain('node');
    expect(procs.find((p) => p[0] === '1')?.[2]).toBe('init');
    expect(
      procs.filter((p) => p[1] === '1').map((p) => p[2]),
      ps.stdout,
    ).toEqual(['sleep']);
    expect(procs.length).toBeLessThanOrEqual(3);

    // Writes stay in the worker's own layer.
    expect(
      (
        await a.exec({
          args: ['sh', '-c', 'echo mine > /app/by-a && echo t > /tmp/by-a && rm /app/image-file'],
        })
      ).exitCode,
    ).toBe(0);
    expect((await a.exec({ args: ['cat', '/app/by-a'] })).stdout).toBe('mine\n');
    expect((await b.exec({ args: ['test', '-e', '/app/by-a'] })).exitCode).toBe(1);
    expect((await b.exec({ args: ['test', '-e', '/tmp/by-a'] })).exitCode).toBe(1);
    expect((await b.exec({ args: ['cat', '/app/image-file'] })).stdout).toBe('from the image\n');
    expect(existsSync(join(image, 'app/by-a'))).toBe(false);
    expect(existsSync(join(image, 'app/image-file'))).toBe(true);

    await Promise.all([a.stop({ timeoutMs: 500 }), b.stop({ timeoutMs: 500 })]);
  });

  it('cuts the network with network: none and shares the host network by default', async () => {
    const none = await sandbox.start(def('net-none', 'cat /proc/net/dev', { network: 'none' }));
    await none.whenDone();
    const ifaces = (await lines(none))
      .map((l) => l.line.split(':')[0]?.trim())
      .filter((n) => n && !n.includes('|'));
    expect(ifaces).toEqual(['lo']);

    const hostIfaces = (await readFile('/proc/net/dev', 'utf8')).split('\n').slice(2).filter(Boolean).length;
    const host = await sandbox.start(def('net-host', 'cat /proc/net/dev'));
    await host.whenDone();
    expect((await lines(host)).slice(2).length).toBe(hostIfaces);
  });

  it('OOM-kills a worker allocating past memory: 64Mi and reports it as OOM', async () => {
    const w = await sandbox.start(
      def('oom', 'echo start; x=aaaaaaaa; while :; do x="$x$x"; done', {
        resources: { memory: 64 * 1024 * 1024 },
      }),
    );
    const final = await w.whenDone();
    expect(final).toMatchObject({ status: 'exited', oomKilled: true, exitCode: 137 });
  });

  it('puts worker cgroups under cgroupParent and still reports OOM there', async () => {
    const parent = `/iii-test-${Math.random().toString(36).slice(2, 8)}`;
    const sb = await Sandbox.open({
      stateDir: await mkdtemp(join(scratch, 'cg-')),
      driver: sandbox.driver,
      cgroupParent: parent,
    });
    try {
      const w = await sb.start(
        def('cg-oom', 'grep memory /proc/self/cgroup; x=aaaaaaaa; while :; do x="$x$x"; done', {
          resources: { memory: 64 * 1024 * 1024 },
        }),
      );
      const final = await w.whenDone();
      expect(final).toMatchObject({ oomKilled: true, exitCode: 137 });
      expect((await lines(w))[0]?.line).toMatch(new RegExp(`${parent}/${w.id}$`));
    } finally {
      // The runtime removes the container's cgroup, not the parent we named.
      for (const m of await readMountsForTest()) {
        if (m.fsType === 'cgroup' || m.fsType === 'cgroup2')
          await rmdir(join(m.mountPoint, parent)).catch(() => {});
      }
    }
  });

  it('does not report an ordinary SIGKILL as OOM', async () => {
    const w = await sandbox.start(def('not-oom', 'kill -9 $$', { resources: { memory: 64 * 1024 * 1024 } }));
    const final = await w.whenDone();
    expect(final.oomKilled).toBe(false);
  });

  it('holds a busy loop with cpus: 0.5 near half a core', async () => {
    const w = await sandbox.start(
      def('cpu', 'while :; do :; done', { resources: { cpus: 0.5 }, restart: 'always' }),
    );
    const s = await waitForState(w, (x) => x.status === 'running');
    const cg = await findContainerCgroup({ pid: s.pid!, id: w.id });
    const t0 = process.hrtime.bigint();
    const u0 = await readCpuUsageNs(cg);
    await new Promise((r) => setTimeout(r, 2000));
    const u1 = await readCpuUsageNs(cg);
    const t1 = process.hrtime.bigint();
    await w.stop({ timeoutMs: 500 });
    expect(u0).toBeTypeOf('number');
    const cores = (u1! - u0!) / Number(t1 - t0);
    // A correctness check of the limit (an unlimited loop takes a whole core), not a timing test.
    expect(cores).toBeLessThan(0.8);
    expect(cores).toBeGreaterThan(0.05);
  });

  it('restarts a worker that exits 1 with growing delays', async () => {
    const w = await sandbox.start(
      def('flaky', 'echo run; exit 1', { restart: 'on-failure', backoff: { initialMs: 50, maxMs: 10_000 } }),
    );
    const delays: number[] = [];
    w.on('state', (s) => {
      if (s.status === 'restarting' && s.restartDelayMs !== undefined) delays.push(s.restartDelayMs);
    });
    const s = await waitForState(w, (x) => x.restarts >= 3 && x.status === 'restarting');
    await w.stop({ timeoutMs: 500 });
    expect(delays.slice(0, 3)).toEqual([50, 100, 200]);
    expect(s.exitCode).toBe(1);
    const runs = (await lines(w)).filter((l) => l.line === 'run');
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(w.state().status).toBe('stopped');
  });

  it('follows the logs of a worker across its restarts', async () => {
    const w = await sandbox.start(
      def('again', 'echo "run at $(cat /proc/uptime)"; exit 3', {
        restart: 'always',
        backoff: { initialMs: 20, maxMs: 40 },
      }),
    );
    const ac = new AbortController();
    const seen: LogLine[] = [];
    for await (const l of w.logs({ follow: true, signal: ac.signal, pollMs: 20 })) {
      seen.push(l);
      if (seen.length === 3) ac.abort();
    }
    await w.stop({ timeoutMs: 200 });
    expect(seen.map((l) => l.line)).toEqual([
      expect.stringMatching(/^run at /),
      expect.stringMatching(/^run at /),
      expect.stringMatching(/^run at /),
    ]);
    expect(new Set(seen.map((l) => l.line)).size).toBe(3);
  });

  it('leaves a worker with restart: never exited', async () => {
    const w = await sandbox.start(def('once', 'exit 1', { restart: 'never', backoff: { initialMs: 10 } }));
    const final = await w.whenDone();
    expect(final).toMatchObject({ status: 'exited', exitCode: 1, restarts: 0 });
  });

  it('stops a process ignoring SIGTERM after the grace period, leaving nothing behind', async () => {
    const w = await sandbox.start(
      def('stubborn', 'trap "" TERM; echo ready; while :; do sleep 1; done', { restart: 'always' }),
    );
    await waitForOutput(w, 'ready');
    const final = await w.stop({ timeoutMs: 500 });
    expect(final).toMatchObject({ status: 'stopped', exitCode: 137 });
    expect(await sandbox.driver.state(w.id)).toBeUndefined();
    expect((await readMountsForTest()).some((m) => m.mountPoint.startsWith(w.paths.dir))).toBe(false);
    expect(existsSync(w.paths.rootfsDir)).toBe(false);
    expect(sandbox.get('stubborn')).toBeUndefined();
  });

  it('stops a worker that handles SIGTERM without killing it, and keeps lines noted beside its output', async () => {
    const w = await sandbox.start(
      def('polite', 'trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.1; done'),
    );
    await waitForOutput(w, 'ready');
    w.note('stderr', '[warn] logged through the SDK');
    const final = await w.stop({ timeoutMs: 30_000 });
    expect(final).toMatchObject({ status: 'stopped', exitCode: 0 });
    const all = await lines(w);
    expect(all.map((l) => l.line)).toContain('bye');
    expect(all.find((l) => l.line === '[warn] logged through the SDK')?.stream).toBe('stderr');
  });

  it('exec returns the exit code, runs with the worker env/cwd/user, and gives 124 on timeout', async () => {
    const w = await sandbox.start(
      def('execs', 'echo ready; exec sleep 1000', {
        imageConfig: {
          config: { Cmd: ['sh', '-c', 'exec sleep 1000'], User: '1000', WorkingDir: '/app', Env: ['X=1'] },
        },
      }),
    );
    await waitForState(w, (s) => s.status === 'running');
    expect((await w.exec({ args: ['sh', '-c', 'exit 7'] })).exitCode).toBe(7);
    const who = await w.exec({
      args: ['sh', '-c', 'echo "$(id -u) $(pwd) $X $III_WORKER_NAME $Y"'],
      env: { Y: 'extra' },
    });
    expect(who).toMatchObject({ exitCode: 0, stdout: '1000 /app 1 execs extra\n' });
    const over = await w.exec({ args: ['pwd'], cwd: '/tmp', user: { uid: 0, gid: 0 } });
    expect(over.stdout).toBe('/tmp\n');
    expect(await w.exec({ args: ['sleep', '30'], timeoutMs: 300 })).toMatchObject({
      exitCode: 124,
      timedOut: true,
    });
    // Like a shell: 127 for a command that does not exist, 126 for one that cannot run.
    expect((await w.exec({ args: ['/no/such/command'] })).exitCode).toBe(127);
    expect((await w.exec({ args: ['/etc/passwd'] })).exitCode).toBe(126);
    // stdin flows in, stdout out through given streams.
    const sink = new PassThrough();
    let got = '';
    sink.on('data', (d: Buffer) => (got += d.toString()));
    const piped = await w.exec({
      args: ['tr', 'a-z', 'A-Z'],
      stdin: Readable.from(['hello\n']),
      stdout: sink,
    });
    expect(piped.exitCode).toBe(0);
    expect(got).toBe('HELLO\n');
    await w.stop({ timeoutMs: 500 });
    await expect(w.exec({ args: ['true'] })).rejects.toMatchObject({ code: 'WORKER_NOT_RUNNING' });
  });

  it('rotates logs keeping at most the configured files and loses nothing written', async () => {
    const logDir = await mkdtemp(join(scratch, `logs-${runtime}-`));
    const sb = await Sandbox.open({
      stateDir: logDir,
      driver: sandbox.driver,
      logs: { maxBytes: 16 * 1024, maxFiles: 3 },
    });
    const w = await sb.start(
      def(
        'chatty',
        'i=0; while [ $i -lt 3000 ]; do echo "out $i"; [ $((i % 100)) -eq 0 ] && echo "err $i" >&2; i=$((i+1)); done; printf "no newline"',
      ),
    );
    await w.whenDone();
    const files = await readdir(w.paths.logs);
    expect(files.filter((f) => f.startsWith('stdout')).sort()).toEqual([
      'stdout.log',
      'stdout.log.1',
      'stdout.log.2',
    ]);
    expect(files.filter((f) => f.startsWith('stderr'))).toEqual(['stderr.log']);
    const all = await lines(w);
    const out = all.filter((l) => l.stream === 'stdout');
    const last = out.pop()!;
    expect(last).toMatchObject({ line: 'no newline', partial: true });
    // The kept stdout lines are an unbroken run ending at the last line written.
    const first = Number(out[0]!.line.split(' ')[1]);
    expect(out.map((l) => l.line)).toEqual(
      Array.from({ length: 3000 - first }, (_, i) => `out ${first + i}`),
    );
    expect(all.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(
      Array.from({ length: 30 }, (_, i) => `err ${i * 100}`),
    );
  });

  it('runs the worker below the init unless its entry says init: false, or the host has none (said in its notes)', async () => {
    const pid = async (w: Worker) => {
      expect((await w.whenDone()).exitCode).toBe(0);
      return (await lines(w)).at(-1)?.line;
    };
    const below = await sandbox.start(def('below-init', 'echo $$'));
    expect(below.init).toBe(true);
    expect(await pid(below)).not.toBe('1');
    const own = await sandbox.start(def('own-pid1', 'echo $$', { init: false }));
    expect(own.init).toBe(false);
    expect(own.notes).toEqual([]);
    expect(await pid(own)).toBe('1');

    const dir = await mkdtemp(join(scratch, `no-init-${runtime}-`));
    const sb = await Sandbox.open({ stateDir: dir, driver: sandbox.driver, init: join(dir, 'no-tini') });
    expect(sb.init).toMatchObject({ reason: `${join(dir, 'no-tini')} is not an executable file` });
    const bare = await sb.start(def('bare', 'echo $$'));
    expect(bare.init).toBe(false);
    expect(bare.notes).toEqual([
      expect.stringMatching(/^runs as PID 1 without an init \(.*apt-get install tini/),
    ]);
    expect(await pid(bare)).toBe('1');
    await sb.close();
  });

  it('gives each worker a private copy of the rootfs where overlay is not used', async () => {
    const dir = await mkdtemp(join(scratch, `copy-${runtime}-`));
    const sb = await Sandbox.open({ stateDir: dir, driver: sandbox.driver, rootfsMode: 'copy' });
    const w = await sb.start(def('copied', 'echo x > /app/by-copy; rm /app/image-file; ls -l /bin/sh'));
    expect(w.rootfs.mode).toBe('copy');
    const final = await w.whenDone();
    expect(final.exitCode).toBe(0);
    expect(existsSync(join(image, 'app/by-copy'))).toBe(false);
    expect(existsSync(join(image, 'app/image-file'))).toBe(true);
    expect((await lines(w)).at(-1)?.line).toMatch(/sh -> busybox$/);
    // An aborted start leaves no half-made copy behind.
    const ac = new AbortController();
    ac.abort(new Error('cancelled'));
    await expect(sb.start(def('aborted', 'true'), { signal: ac.signal })).rejects.toThrow('cancelled');
    expect(existsSync(sb.paths('aborted').rootfsDir)).toBe(false);
    expect(sb.get('aborted')).toBeUndefined();
  });

  it('cleans up containers and overlays left by a crashed run', async () => {
    const dir = await mkdtemp(join(scratch, `crash-${runtime}-`));
    // What a killed supervisor leaves: a running container in our runtime root and a mounted overlay.
    const paths = workerPaths(dir, 'left');
    const id = containerId(dir, 'left');
    const rootfs = await prepareRootfs({ image, dir: paths.rootfsDir });
    await mkdir(paths.bundle, { recursive: true });
    await mkdir(join(paths.dir, 'etc'), { recursive: true });
    await writeFile(paths.hosts, '127.0.0.1 localhost\n');
    await writeFile(paths.resolvConf, '');
    const spec = buildSpec({
      imageConfig: { config: { Cmd: ['sleep', '1000'] } },
      worker: { name: 'left' },
      engineUrl: ENGINE,
      rootfs: rootfs.path,
      hostsFile: paths.hosts,
      resolvFile: paths.resolvConf,
    });
    await writeFile(paths.config, JSON.stringify(spec));
    await sandbox.driver.create(id, paths.bundle, { pidFile: join(paths.dir, 'pid') });
    await sandbox.driver.start(id);
    expect((await sandbox.driver.state(id))?.status).toBe('running');

    const next = await Sandbox.open({ stateDir: dir, driver: sandbox.driver });
    const report = await next.cleanupLeftovers();
    expect(report).toEqual({ containers: [id], mounts: [paths.rootfs], cgroups: [] });
    expect(await sandbox.driver.state(id)).toBeUndefined();
    expect((await readMountsForTest()).some((m) => m.mountPoint.startsWith(paths.dir))).toBe(false);
    expect(existsSync(paths.rootfsDir)).toBe(false);
    // A worker of the same name starts cleanly afterwards.
    const w = await next.start(def('left', 'echo fresh'));
    await w.whenDone();
    expect((await lines(w)).map((l) => l.line)).toEqual(['fresh']);
  });

  it('refuses a second worker of the same name and reports unknown USER before mounting', async () => {
    const w = await sandbox.start(def('dup', 'exec sleep 1000'));
    await expect(sandbox.start(def('dup', 'true'))).rejects.toMatchObject({ code: 'WORKER_ALREADY_RUNNING' });
    await w.stop({ timeoutMs: 200 });
    await expect(
      sandbox.start(
        def('ghost', 'true', { imageConfig: { config: { Cmd: ['true'], User: 'nobody-here' } } }),
      ),
    ).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    expect(existsSync(sandbox.paths('ghost').rootfsDir)).toBe(false);
  });
}

const runcProbeState = await mkdtemp(join(tmpdir(), 'iii-crun-probe-'));
const crun = await detectRuntime({ stateDir: runcProbeState, preferred: 'crun', strict: true }).then(
  () => ({ works: true as const }),
  (err: unknown) => ({ works: false as const, err }),
);
await rm(runcProbeState, { recursive: true, force: true });

describe('sandbox on runc', () => {
  acceptance('runc');
});

if (crun.works) {
  describe('sandbox on crun', () => {
    acceptance('crun');
  });
} else {
  describe('sandbox on crun where crun cannot start containers', () => {
    it('says why crun cannot be used and falls back to runc', async () => {
      expect(crun.err).toBeInstanceOf(RuntimeUnavailableError);
      const attempt = (crun.err as RuntimeUnavailableError).attempts[0];
      expect(attempt?.name).toBe('crun');
      expect(attempt?.reason).not.toBe('');
      expect((crun.err as Error).message).toContain(`crun: ${attempt?.reason}`);
      const dir = await mkdtemp(join(scratch, 'fallback-'));
      const sb = await Sandbox.open({ stateDir: dir, runtime: 'crun' });
      expect(sb.driver.name).toBe('runc');
      expect(sb.skippedRuntimes).toEqual([{ name: 'crun', reason: attempt?.reason }]);
      const w = await sb.start(def('fallback', 'echo on runc'));
      await w.whenDone();
      expect((await lines(w)).map((l) => l.line)).toEqual(['on runc']);
    });
  });
}

describe('runtime detection', () => {
  it('reports a missing runtime with how to install one', async () => {
    const dir = await mkdtemp(join(scratch, 'none-'));
    await mkdir(join(dir, 'bin'));
    await expect(Sandbox.open({ stateDir: dir, env: { PATH: join(dir, 'bin') } })).rejects.toMatchObject({
      code: 'RUNTIME_NOT_FOUND',
      hint: expect.stringContaining('apt-get install runc'),
    });
  });
});
