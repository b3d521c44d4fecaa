// What `iii` says about the workers it runs: already running, connected or not, who serves a function,
// and stopping several at once. Real runc, images from tools/fixtures, the official iii-sdk.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busybox, pushFixture, stubbornImage } from '@iii/tools/fixtures';
import { freePort, requireTools, startRegistry, type TestRegistry } from '@iii/tools/test-env';
import { registerWorker as registerOfficial } from 'iii-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { until } from './until.ts';

// The official SDK starts OpenTelemetry in-process unless told not to.
process.env.OTEL_ENABLED = 'false';

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Row {
  name: string;
  status: string;
  pid?: number;
  digest?: string;
  connected?: boolean;
  connectedSince?: string;
  connectionId?: string;
}

describe('iii tells the truth about running workers (runc, official iii-sdk)', () => {
  let registry: TestRegistry;
  let dir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let engine: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  const clients: Array<ReturnType<typeof registerOfficial>> = [];

  const iii = (...args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(process.execPath, [bin, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  const list = async (): Promise<Row[]> => {
    const r = await iii('worker', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { workers: Row[] }).workers;
  };
  const row = async (name: string) => (await list()).find((w) => w.name === name);
  const trigger = async (id: string): Promise<unknown> => {
    const r = await iii('trigger', id, '--timeout', '5s');
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  };
  const official = (name: string) => {
    const c = registerOfficial(`ws://127.0.0.1:${port}`, { workerName: name });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah', 'docker-registry']);
    registry = await startRegistry({ flavor: 'plain' });
    await pushFixture('node-worker', registry, 'iii/node-worker:1');
    await pushFixture('busybox', registry, 'iii/busybox-worker:1');
    dir = await mkdtemp(join(tmpdir(), 'iii-running-'));
    port = await freePort();
    env = {
      ...process.env,
      III_HOME: join(dir, 'home'),
      III_CONFIG_PATH: join(dir, 'config.yaml'),
      CI: 'true',
      OTEL_ENABLED: 'false',
    };
    const stubborn = await stubbornImage((await busybox()).ref, join(dir, 'stubborn-layout'));
    for (const args of [
      [`${registry.host}/iii/node-worker:1`, '--name', 'node-worker'],
      // busybox runs, but nothing in it ever connects to the engine.
      [`${registry.host}/iii/busybox-worker:1`, '--name', 'mute'],
      [stubborn, '--name', 'stubborn-a'],
      [stubborn, '--name', 'stubborn-b'],
    ]) {
      const r = await iii('worker', 'add', ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    // busybox's III_URL default was copied into config:; once mute runs the node image (below) it would
    // be a value of the user's and win over the engine's address, so it goes.
    const configPath = join(dir, 'config.yaml');
    const doc = parseDocument(await readFile(configPath, 'utf8'));
    doc.deleteIn(['workers', 1, 'config', 'III_URL']);
    await writeFile(configPath, doc.toString());
    engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], { env, cwd: dir });
    engine.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    engine.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => engine.once('exit', (code) => resolve(code)));
    await until('the workers running and node-worker connected', async () => {
      const rows = await list();
      return (
        rows.every((w) => w.status === 'running') && rows.find((w) => w.name === 'node-worker')?.connected
      );
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.shutdown().catch(() => {});
    if (engine && engine.exitCode === null) {
      engine.kill('SIGINT');
      await exited;
    }
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows whether a running worker is connected, and since when, in list and inspect', async () => {
    const rows = await list();
    const node = rows.find((w) => w.name === 'node-worker')!;
    expect(node).toMatchObject({ status: 'running', connected: true, connectionId: expect.any(String) });
    expect(Date.parse(node.connectedSince!)).toBeGreaterThan(0);
    expect(rows.find((w) => w.name === 'mute')).toMatchObject({ status: 'running', connected: false });

    const table = await iii('worker', 'list');
    expect(table.stdout).toMatch(/^NAME\s+IMAGE\s+STATUS\s+PID\s+UPTIME\s+CONNECTED\s+RESTARTS$/m);
    expect(table.stdout).toMatch(/^node-worker\s+\S+\s+running\s+\d+\s+\S+\s+yes \(\S+\)\s+0$/m);
    expect(table.stdout).toMatch(/^mute\s+\S+\s+running\s+\d+\s+\S+\s+no\s+0$/m);

    const muteJson = await iii('worker', 'inspect', 'mute', '--json');
    expect(JSON.parse(muteJson.stdout).run).toMatchObject({ status: 'running', connected: false });
    const muteText = await iii('worker', 'inspect', 'mute');
    expect(muteText.stdout).toMatch(/^Connected:\s+no: it runs but holds no connection to the engine/m);
    const nodeText = await iii('worker', 'inspect', 'node-worker');
    expect(nodeText.stdout).toContain(
      `Connected:  yes, since ${node.connectedSince} (worker id ${node.connectionId})`,
    );

    // The engine's connection ids match those the engine lists for its workers.
    const workers = (await trigger('engine::workers::list')) as {
      workers: Array<{ id: string; name: string }>;
    };
    expect(workers.workers.find((w) => w.id === node.connectionId)?.name).toBe('node-worker');
  });

  it('is not fooled by a connection that claims to be a worker', async () => {
    const before = await row('node-worker');
    // Both claims go through `engine::workers::register`, as III_WORKER_NAME would in the sandbox.
    official('mute');
    official('node-worker');
    await until('both impostors listed', async () => {
      const w = (await trigger('engine::workers::list')) as { workers: Array<{ name: string }> };
      return w.workers.filter((x) => x.name === 'mute' || x.name === 'node-worker').length === 3;
    });
    expect(await row('mute')).toMatchObject({ connected: false });
    expect(await row('node-worker')).toMatchObject({
      connected: true,
      connectionId: before?.connectionId,
      connectedSince: before?.connectedSince,
    });
    for (const c of clients.splice(0)) await c.shutdown();
  });

  it('keeps a function with the worker that registered it first, logs the conflict, and hands it over when that worker stops', async () => {
    expect(await trigger('node-worker::env')).toEqual({ greeting: 'hello-from-image' });
    const rival = official('rival');
    rival.registerFunction('node-worker::env', async () => ({ greeting: 'from the rival' }));
    await until('the conflict in the output of iii', async () =>
      output.includes(
        'function "node-worker::env" is already served by worker "node-worker"; refused it from worker "rival" (it takes over if "node-worker" leaves)',
      ),
    );
    for (let i = 0; i < 3; i++)
      expect(await trigger('node-worker::env')).toEqual({ greeting: 'hello-from-image' });
    const listed = (await trigger('engine::functions::list')) as {
      functions: Array<{
        function_id: string;
        worker_name: string;
        standby?: Array<{ worker_name: string }>;
      }>;
    };
    expect(listed.functions.find((f) => f.function_id === 'node-worker::env')).toMatchObject({
      worker_name: 'node-worker',
      standby: [{ worker_name: 'rival' }],
    });

    const stop = await iii('worker', 'stop', 'node-worker', '--timeout', '5s');
    expect(stop.code, stop.stderr).toBe(0);
    await until('the handover in the output of iii', async () =>
      output.includes('function "node-worker::env": worker "node-worker" left; worker "rival" serves it now'),
    );
    expect(await trigger('node-worker::env')).toEqual({ greeting: 'from the rival' });

    // Back again, node-worker waits behind the rival, and takes over when the rival leaves.
    expect((await iii('worker', 'start', 'node-worker')).code).toBe(0);
    await until('node-worker refused while the rival serves', async () =>
      output.includes(
        'function "node-worker::env" is already served by worker "rival"; refused it from worker "node-worker"',
      ),
    );
    await rival.shutdown();
    await until('node-worker serving again', async () => {
      const r = (await trigger('node-worker::env')) as { greeting?: string } | undefined;
      return r?.greeting === 'hello-from-image';
    });
  });

  it('says a running worker is already running; add --force restarts it on the new image and waits for it', async () => {
    const running = await until('node-worker connected', async () => {
      const w = await row('node-worker');
      return w?.connected ? w : undefined;
    });
    const again = await iii('worker', 'start', 'node-worker');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(
      `Worker "node-worker" is already running (pid ${running.pid}); nothing to do.`,
    );
    expect(again.stderr).not.toContain('Started');
    const json = JSON.parse((await iii('worker', 'start', 'node-worker', '--json')).stdout);
    expect(json).toMatchObject({ started: false, worker: { name: 'node-worker', pid: running.pid } });
    expect((await row('node-worker'))?.pid).toBe(running.pid);

    // mute gets the node image while it runs: add --force restarts it on the new image at once and
    // waits until it has connected.
    const mute = await row('mute');
    const add = await iii('worker', 'add', `${registry.host}/iii/node-worker:1`, '--name', 'mute', '--force');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toMatch(
      /Worker "mute" restarted on the new image \(pid \d+\) and connected to the engine in \d+\.\ds\./,
    );
    expect(add.stderr).not.toContain('iii worker restart mute');
    const switched = await row('mute');
    expect(switched).toMatchObject({ status: 'running', connected: true });
    expect(switched?.digest).not.toBe(mute?.digest);
    expect(switched?.pid).not.toBe(mute?.pid);
  });

  /** `--timestamps` lines of a worker's log: when it was told to stop, and its last sign of life. */
  const stopTimes = async (name: string) => {
    const r = await iii('worker', 'logs', name, '--timestamps', '-n', '1000');
    const lines = r.stdout.split('\n').filter(Boolean);
    const at = (l: string) => l.split(' ')[0]!;
    const term = lines.find((l) => l.endsWith(' got-term'));
    const alive = lines.filter((l) => l.endsWith(' still-here'));
    expect(term, r.stdout).toBeDefined();
    expect(alive.length, r.stdout).toBeGreaterThan(0);
    return { toldAt: at(term!), lastSeen: at(alive.at(-1)!) };
  };

  it('remove stops workers at once with --timeout, printing each as it stops and who is still awaited', async () => {
    // --keep-logs: the logs show when each was told to stop and how long it ran on.
    const r = await iii(
      'worker',
      'remove',
      'stubborn-a',
      'stubborn-b',
      '-y',
      '--timeout',
      '3s',
      '--keep-logs',
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const stopping = lines.findIndex((l) => l.startsWith('Stopping '));
    expect(lines[stopping]).toBe(
      'Stopping "stubborn-a", "stubborn-b" (SIGKILL after 3s for any still running)...',
    );
    const first = lines.findIndex((l) =>
      /^Stopped worker "stubborn-[ab]"; waiting for "stubborn-[ab]"\.$/.test(l),
    );
    const second = lines.findIndex((l) => /^Stopped worker "stubborn-[ab]"\.$/.test(l));
    expect(first).toBeGreaterThan(stopping);
    expect(second).toBeGreaterThan(first);
    expect(r.stderr).toContain('Removed worker "stubborn-a" (its logs are kept).');
    // Each was told to stop while the other still ran: neither waited for the other's grace period.
    const a = await stopTimes('stubborn-a');
    const b = await stopTimes('stubborn-b');
    expect(a.toldAt < b.lastSeen).toBe(true);
    expect(b.toldAt < a.lastSeen).toBe(true);
  });

  it('Ctrl-C stops every worker at once and says which it is still waiting for', async () => {
    // Two stubborn workers again, so Ctrl-C has to wait for both grace periods.
    const stubborn = `oci-layout:${join(dir, 'stubborn-layout')}:stubborn`;
    for (const name of ['stubborn-c', 'stubborn-d']) {
      const add = await iii('worker', 'add', stubborn, '--name', name, '--no-wait');
      expect(add.code, add.stderr).toBe(0);
      expect((await iii('worker', 'start', name)).code).toBe(0);
    }
    await until('stubborn workers up', async () => {
      const rows = await list();
      return ['stubborn-c', 'stubborn-d'].every((n) => rows.find((w) => w.name === n)?.status === 'running');
    });
    const from = output.length;
    engine.kill('SIGINT');
    expect(await exited).toBe(0);
    const said = output.slice(from);
    expect(said).toMatch(/^SIGINT: stopping$/m);
    expect(said).toMatch(
      /^stopping 4 workers: node-worker, mute, stubborn-c, stubborn-d \(SIGKILL after 10s\)$/m,
    );
    // Whichever stops first, the others are named as still awaited; the last one ends the list.
    expect(said).toMatch(/^worker "\S+" stopped; waiting for \S+, \S+, \S+$/m);
    expect(said).toMatch(/^worker "\S+" stopped; waiting for \S+$/m);
    expect(said).toMatch(/^worker "\S+" stopped$/m);
    expect(said).toMatch(/^stopped$/m);
    const c = await stopTimes('stubborn-c');
    const d = await stopTimes('stubborn-d');
    expect(c.toldAt < d.lastSeen).toBe(true);
    expect(d.toldAt < c.lastSeen).toBe(true);
  });
});
