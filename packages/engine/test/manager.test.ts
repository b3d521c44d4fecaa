// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config.yaml text with literal ${VAR} placeholders.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { iiiPaths } from '@iii/config';
import {
  connectEngine,
  type Engine,
  execInWorker,
  type RunningWorkers,
  startEngine,
  startWorkers,
  WorkerManager,
  workerLogs,
} from '@iii/engine';
import { ImageStore, openImage } from '@iii/oci';
import { registerWorker } from '@iii/sdk';
import { busybox, crashingImage } from '@iii/tools/fixtures';
import { requireTools } from '@iii/tools/test-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const run = promisify(execFile);

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const LEAKED = 'leaked-value-5d2e';

describe('worker manager with runc and the busybox fixture', () => {
  let home: string;
  let engine: Engine;
  let workers: RunningWorkers;
  let manager: WorkerManager;
  const reports: string[] = [];

  beforeAll(async () => {
    requireTools(['runc', 'skopeo', 'umoci', 'buildah']);
    home = await mkdtemp(join(tmpdir(), 'iii-manager-'));
    const paths = iiiPaths({ env: { III_HOME: home } });
    const fixture = await busybox();
    const image = await openImage(`oci-layout:${fixture.layout}:${fixture.tag}`);
    await new ImageStore(paths.store).pull(image);
    const ref = `oci-layout:${fixture.layout}:${fixture.tag}`;
    const crashRef = await crashingImage(fixture.ref, join(home, 'crashy'));
    const crashImage = await openImage(crashRef);
    await new ImageStore(paths.store).pull(crashImage);
    // A worker that prints the connection string it was given, then fails, as real ones do.
    const leakyRef = await crashingImage(
      fixture.ref,
      join(home, 'leaky'),
      'echo "cannot reach $DB_URL"; exit 1',
    );
    const leakyImage = await openImage(leakyRef);
    await new ImageStore(paths.store).pull(leakyImage);
    const configPath = join(home, 'config.yaml');
    await writeFile(
      configPath,
      [
        'workers:',
        '  - name: bb',
        `    image: "${ref}"`,
        '    config:',
        '      GREETING: ${III_TEST_GREETING:from-default}',
        '      nested: { key: 42 }',
        '  - name: broken',
        `    image: "${ref}"`,
        '    config:',
        '      TOKEN: ${III_TEST_SURELY_MISSING}',
        '  - name: crashy',
        `    image: "${crashRef}"`,
        '    restart: on-failure',
        '  - name: leaky',
        `    image: "${leakyRef}"`,
        '    restart: never',
        '    config:',
        '      DB_URL: postgres://app:${III_TEST_LEAKED}@db/x',
        '',
      ].join('\n'),
    );
    const platform = `linux/${process.arch === 'x64' ? 'amd64' : 'arm64'}`;
    const lockEntry = (name: string, image: string, digest: string) =>
      `  ${name}:\n    image: "${image}"\n    digest: "${digest}"\n    platform: ${platform}\n`;
    await writeFile(
      join(home, 'iii.lock'),
      `version: 1\nworkers:\n${lockEntry('bb', ref, fixture.digest)}${lockEntry('broken', ref, fixture.digest)}${lockEntry('crashy', crashRef, crashImage.digest)}${lockEntry('leaky', leakyRef, leakyImage.digest)}`,
    );

    manager = new WorkerManager({
      configPath,
      home,
      report: (m) => reports.push(m),
      stopTimeoutMs: 5000,
      env: { ...process.env, III_TEST_LEAKED: LEAKED },
    });
    engine = await startEngine({ port: 0, logSink: manager.logSink });
    workers = await startWorkers(engine, { manager });
  });

  afterAll(async () => {
    await workers?.stop();
    await engine?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('runs a worker with its interpolated config, the engine address and its pid', async () => {
    const bb = await until('bb running', async () =>
      (await manager.list()).find((w) => w.name === 'bb' && w.status === 'running'),
    );
    expect(bb.pid).toBeGreaterThan(0);
    const env = await until('env.txt', async () => {
      const r = await (await execInWorker(manager.project, 'bb', { args: ['cat', '/tmp/env.txt'] })).result;
      return r.exitCode === 0 && r.stdout ? r.stdout : undefined;
    });
    expect(env).toContain(`III_ENGINE_URL=${engine.address}`);
    expect(env).toContain('GREETING=from-default');
    expect(env).toContain('NESTED_KEY=42');
    expect(env).toContain('III_WORKER_NAME=bb');
  });

  it('reports and skips a worker whose config names an unset variable', async () => {
    const broken = (await manager.list()).find((w) => w.name === 'broken');
    expect(broken).toMatchObject({ status: 'not started' });
    expect(broken?.error).toMatch(/III_TEST_SURELY_MISSING/);
    expect(reports.join('\n')).toMatch(/broken.*skipped.*III_TEST_SURELY_MISSING/);
  });

  it('masks what a worker got from ${VAR} in the last output that list and inspect show', async () => {
    const leaky = await until('leaky exited with output', async () =>
      (await manager.list()).find((w) => w.name === 'leaky' && w.status === 'exited' && w.lastOutput?.length),
    );
    expect(leaky.lastOutput).toContain('cannot reach postgres://app:****@db/x');
    expect(JSON.stringify(await manager.list())).not.toContain(LEAKED);
    expect(JSON.stringify(await manager.inspect('leaky'))).not.toContain(LEAKED);
    expect((await manager.inspect('leaky', { reveal: true })).lastOutput).toContain(
      `cannot reach postgres://app:${LEAKED}@db/x`,
    );
    expect(reports.join('\n')).not.toContain(LEAKED);
  });

  it('restarts a crashing worker and counts its restarts and exit code', async () => {
    const crashy = await until('crashy restarted', async () =>
      (await manager.list()).find(
        (w) => w.name === 'crashy' && w.restarts >= 1 && w.lastExitCode !== undefined,
      ),
    );
    expect(crashy.lastExitCode).not.toBe(0);
    expect((await manager.list()).find((w) => w.name === 'bb')?.status).toBe('running');
  });

  it('passes exec exit codes through', async () => {
    const r = await (await execInWorker(manager.project, 'bb', { args: ['sh', '-c', 'exit 3'] })).result;
    expect(r.exitCode).toBe(3);
  });

  it('stops, starts and restarts a worker on request', async () => {
    const stopped = await manager.stop('bb', { timeoutMs: 5000 });
    expect(stopped.status).toBe('stopped');
    expect(stopped.pid).toBeUndefined();
    await expect(execInWorker(manager.project, 'bb', { args: ['true'] })).rejects.toMatchObject({
      code: 'WORKER_NOT_RUNNING',
    });
    const started = await manager.start('bb');
    expect(started.started).toBe(true);
    expect(['starting', 'running']).toContain(started.worker.status);
    const first = await until('bb running again', async () =>
      (await manager.list()).find((w) => w.name === 'bb' && w.status === 'running'),
    );
    // A second start finds it running and leaves it be.
    const again = await manager.start('bb');
    expect(again).toMatchObject({ started: false, worker: { status: 'running', pid: first.pid } });
    await manager.restart('bb', { timeoutMs: 5000 });
    const second = await until('bb running after restart', async () =>
      (await manager.list()).find((w) => w.name === 'bb' && w.status === 'running' && w.pid !== first.pid),
    );
    expect(second.pid).toBeGreaterThan(0);
  });

  it('serves iii::workers::* to SDK clients through the engine, hidden from function lists', async () => {
    const client = await connectEngine({ project: manager.project });
    try {
      expect(client.target.address).toBe(engine.address);
      const rows = await client.list();
      expect(rows.map((w) => w.name)).toEqual(['bb', 'broken', 'crashy', 'leaky']);
      const details = await client.inspect('bb');
      expect(details).toMatchObject({ name: 'bb', restartPolicy: 'on-failure', runtime: 'runc' });
      // Filled from ${VAR}: shown as written unless the owner asks to reveal it.
      expect(details.env?.GREETING).toBe('${III_TEST_GREETING:from-default}');
      expect(details.env?.NESTED_KEY).toBe('42');
      expect((await client.inspect('bb', { reveal: true })).env?.GREETING).toBe('from-default');
      await expect(client.stop('nope')).rejects.toMatchObject({ code: 'WORKER_NOT_FOUND' });
      expect((await client.stop('bb', 5000)).status).toBe('stopped');
      expect((await client.start('bb')).worker.status).toMatch(/starting|running/);
    } finally {
      await client.close();
    }
    const sdk = registerWorker(engine.address, { workerName: 'probe', announce: false });
    try {
      const all = await sdk.trigger<unknown, { functions: { function_id: string }[] }>({
        function_id: 'engine::functions::list',
        payload: {},
      });
      expect(all.functions.map((f) => f.function_id)).not.toContain('iii::workers::list');
      // Without the management token nothing is listed or done, whatever is asked.
      const internal = await sdk.trigger<unknown, { functions: { function_id: string }[] }>({
        function_id: 'engine::functions::list',
        payload: { include_internal: true },
      });
      expect(internal.functions.map((f) => f.function_id).filter((id) => id.startsWith('iii::'))).toEqual([]);
      await expect(
        sdk.trigger({ function_id: 'iii::workers::stop', payload: { name: 'bb' } }),
      ).rejects.toMatchObject({ code: 'forbidden' });
      expect((await manager.list()).find((w) => w.name === 'bb')?.status).toMatch(/starting|running/);
    } finally {
      await sdk.shutdown();
    }
    await until('bb running', async () =>
      (await manager.list()).find((w) => w.name === 'bb' && w.status === 'running'),
    );
  });

  it('keeps the worker output in its log files, readable without the engine', async () => {
    const lines: string[] = [];
    await until('log lines', async () => {
      lines.length = 0;
      for await (const l of await workerLogs(manager.project, 'bb', { tail: 5 })) lines.push(l.line);
      return lines.length === 5 ? true : undefined;
    });
    expect(lines.some((l) => /busybox-worker/.test(l))).toBe(true);
  });

  it('appends lines logged through the engine to the worker log', async () => {
    manager.logSink('bb', 'warn', 'from the sdk logger', { n: 1 });
    // The line is handed to the log writer at once and reaches the file when its write is done,
    // as the worker's own output does: a reader sees it shortly after, not necessarily at once.
    const wanted = 'stderr [warn] from the sdk logger {"n":1}';
    const lines: string[] = [];
    await until('the logged line in the worker log', async () => {
      lines.length = 0;
      for await (const l of await workerLogs(manager.project, 'bb', { tail: 50 }))
        lines.push(`${l.stream} ${l.line}`);
      return lines.includes(wanted) ? true : undefined;
    });
    expect(lines).toContain(wanted);
  });

  it('drops OTel log records naming a worker from a connection its processes do not hold', async () => {
    // This test process holds the connection, not bb's sandbox: the name it gives is only a claim.
    const ws = new WebSocket(`ws://127.0.0.1:${engine.port}/otel`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const record = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bb' } }] },
          scopeLogs: [{ logRecords: [{ severityNumber: 9, body: { stringValue: 'forged through otel' } }] }],
        },
      ],
    };
    ws.send(Buffer.concat([Buffer.from('LOGS'), Buffer.from(JSON.stringify(record))]));
    try {
      await until('the dropped line reported', () =>
        reports.find((r) => /^dropped SDK log lines from 127\.0\.0\.1:\d+: no worker/.test(r)),
      );
    } finally {
      ws.close();
    }
    const lines: string[] = [];
    for await (const l of await workerLogs(manager.project, 'bb', { tail: 200 })) lines.push(l.line);
    expect(lines.join('\n')).not.toContain('forged through otel');
  });

  it('leaves no container, mount or engine record behind when stopped', async () => {
    await workers.stop();
    const root = join(manager.project.sandbox, 'runtime', 'runc');
    const { stdout } = await run('runc', ['--root', root, 'list', '--quiet']);
    expect(stdout.trim()).toBe('');
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(home);
    await expect(readFile(manager.project.engineRecord, 'utf8')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect((await manager.list()).every((w) => w.status !== 'running' && w.pid === undefined)).toBe(true);
  });
});
