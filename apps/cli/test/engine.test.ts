import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerWorker, type WorkerClient } from '@iii/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOf } from './project-paths.ts';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built `iii`, in a temp working directory and $III_HOME. */
function iii(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], opts, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

interface Started {
  child: ChildProcess;
  address: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `iii` in the foreground and waits for the address it prints on stderr. */
async function startIii(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Started> {
  const child = spawn(process.execPath, [bin, ...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`iii exited with ${code}: ${err}`)));
  });
  return { child, address, stderr: () => err, exit };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('iii start and iii trigger (built binary)', () => {
  let root: string;
  let cwd: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let engine: Started;
  let worker: WorkerClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'iii-engine-cli-'));
    cwd = join(root, 'work');
    home = join(root, 'home');
    await mkdir(cwd);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('III_')));
    env = { ...base, CI: 'true', III_HOME: home };
    engine = await startIii(['start', '--port', '0'], { cwd, env });
    worker = registerWorker(engine.address, { workerName: 'math' });
    worker.registerFunction('math::add', (d: { a: number; b: number }) => ({ sum: d.a + d.b }));
    worker.registerFunction('math::echo', (d: Record<string, unknown>) => {
      const { _caller_worker_id: _, ...rest } = d;
      return rest;
    });
    worker.registerFunction('math::divide', (d: { a: number; b: number }) => {
      if (d.b === 0) throw new Error('division by zero');
      return d.a / d.b;
    });
    // Ready once the engine routes the function.
    for (;;) {
      const r = await iii(['trigger', 'math::add', '--data', '{"a":0,"b":0}'], { cwd, env });
      if (r.code === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    await worker?.shutdown();
    if (engine && engine.child.exitCode === null) {
      engine.child.kill('SIGTERM');
      await engine.exit;
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("records the running engine in its project's directory under $III_HOME/projects, in a 0700 home", async () => {
    const record = JSON.parse(await readFile(recordOf(home, join(cwd, 'config.yaml')), 'utf8'));
    expect(record).toMatchObject({
      pid: engine.child.pid,
      address: engine.address,
      configPath: join(cwd, 'config.yaml'),
    });
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect(engine.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it('prints the result of a function as JSON on stdout, from --data or key=value pairs', async () => {
    const fromData = await iii(['trigger', 'math::add', '--data', '{"a":2,"b":40}'], { cwd, env });
    expect(fromData.code, fromData.stderr).toBe(0);
    expect(fromData.stderr).toBe('');
    expect(JSON.parse(fromData.stdout)).toEqual({ sum: 42 });
    const fromPairs = await iii(['trigger', 'math::echo', 'name=ada', 'id=007', 'n:=5', 'tags:=["x"]'], {
      cwd,
      env,
    });
    expect(fromPairs.code, fromPairs.stderr).toBe(0);
    expect(JSON.parse(fromPairs.stdout)).toEqual({ name: 'ada', id: '007', n: 5, tags: ['x'] });
  });

  it('prints a function error with its code and message on stderr and exits 1', async () => {
    const r = await iii(['trigger', 'math::divide', 'a:=1', 'b:=0'], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: invocation_failed: division by zero$/m);
    const missing = await iii(['trigger', 'math::nope'], { cwd, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^Error: function_not_found: Function math::nope not found$/m);
    expect(missing.stderr).toMatch(/engine::functions::list/);
  });

  it('reaches an engine given by --address or $III_URL without engine.json', async () => {
    const otherHome = { ...env, III_HOME: join(root, 'other-home') };
    const viaFlag = await iii(['trigger', 'math::add', 'a:=1', 'b:=1', '--address', engine.address], {
      cwd,
      env: otherHome,
    });
    expect(viaFlag.code, viaFlag.stderr).toBe(0);
    expect(JSON.parse(viaFlag.stdout)).toEqual({ sum: 2 });
    const viaEnv = await iii(['trigger', 'math::add', 'a:=1', 'b:=2'], {
      cwd,
      env: { ...otherHome, III_URL: engine.address },
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toEqual({ sum: 3 });
  });

  it('says no engine runs (and to run `iii`) when there is none or its record is stale', async () => {
    const emptyHome = { ...env, III_HOME: join(root, 'empty-home') };
    const none = await iii(['trigger', 'math::add'], { cwd, env: emptyHome });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^Error: iii is not running/m);
    expect(none.stderr).toMatch(/`iii`/);
    // A record left by a crashed engine: its pid is gone, so it is ignored.
    const staleHome = join(root, 'stale-home');
    const staleRecord = recordOf(staleHome, join(cwd, 'config.yaml'));
    await mkdir(dirname(staleRecord), { recursive: true });
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.once('exit', resolve));
    await writeFile(
      staleRecord,
      JSON.stringify({
        pid: dead.pid,
        address: engine.address,
        host: '127.0.0.1',
        port: 1,
        configPath: 'x',
        startedAt: new Date().toISOString(),
      }),
    );
    const stale = await iii(['trigger', 'math::add'], { cwd, env: { ...env, III_HOME: staleHome } });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^Error: iii is not running/m);
    const unreachable = await iii(['trigger', 'math::add', '--address', 'ws://127.0.0.1:1'], {
      cwd,
      env: emptyHome,
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^Error: iii is not running/m);
  });

  it('rejects bad input as a usage error (exit 2)', async () => {
    for (const args of [
      ['--data', '{oops'],
      ['--data', '{}', 'a=1'],
      ['no-equals-sign'],
      ['--timeout', 'soon'],
    ]) {
      const r = await iii(['trigger', 'math::add', ...args], { cwd, env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^Error: /m);
    }
  });

  it('shows examples in --help of start and trigger', async () => {
    const start = await iii(['start', '--help'], { cwd, env });
    expect(start.stdout).toMatch(/EXAMPLES[\s\S]*\$ iii start --config/);
    const trigger = await iii(['trigger', '--help'], { cwd, env });
    expect(trigger.stdout).toMatch(/EXAMPLES[\s\S]*\$ iii trigger .*--data/);
  });

  it('bare `iii` starts the engine on engine.port of config.yaml and stops with exit 0 on SIGTERM', async () => {
    const dir = join(root, 'bare');
    await mkdir(dir);
    const port = await freePort();
    await writeFile(join(dir, 'config.yaml'), `engine:\n  host: 127.0.0.1\n  port: ${port}\nworkers: []\n`);
    const bareEnv = { ...env, III_HOME: join(root, 'bare-home') };
    const bare = await startIii([], { cwd: dir, env: bareEnv });
    expect(bare.address).toBe(`ws://127.0.0.1:${port}`);
    const bareRecord = recordOf(join(root, 'bare-home'), join(dir, 'config.yaml'));
    const record = JSON.parse(await readFile(bareRecord, 'utf8'));
    expect(record).toMatchObject({ address: bare.address, configPath: join(dir, 'config.yaml') });
    // A second engine for the same project refuses to start, naming the project's config.yaml.
    const second = await iii(['start', '--port', '0'], { cwd: dir, env: bareEnv });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running for .*bare\/config\.yaml/);
    bare.child.kill('SIGTERM');
    expect(await bare.exit).toBe(0);
    await expect(stat(bareRecord)).rejects.toThrow(/ENOENT/);
    // Flags alone are those of `iii start`, as the guides write `iii --port 0 &`.
    const flagged = await startIii(['--port', '0', '--no-watch'], { cwd: dir, env: bareEnv });
    expect(flagged.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(flagged.address).not.toBe(`ws://127.0.0.1:${port}`);
    flagged.child.kill('SIGTERM');
    expect(await flagged.exit).toBe(0);
  });

  it('fails with a clear error when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const r = await iii(['start', '--port', String(port)], {
        cwd,
        env: { ...env, III_HOME: join(root, 'busy-home') },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`, 'm'),
      );
      expect(r.stderr).toMatch(/--port/);
      await expect(stat(recordOf(join(root, 'busy-home'), join(cwd, 'config.yaml')))).rejects.toThrow(
        /ENOENT/,
      );
    } finally {
      taken.close();
    }
  });
});
