/**
 * `start`: time from launching `iii` to 20 Node workers (each in its own sandbox) all registered with
 * the engine, against launching the same engine with no workers plus the same 20 worker programs
 * directly on the host, in the same run. Both are timed until `engine::workers::list` shows all 20.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerWorker } from '@iii/sdk';
import { nodeWorker } from '../../fixtures/index.ts';
import { freePort } from '../../test-env/index.ts';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';

const run = promisify(execFile);
const WORKERS = 20;
const names = Array.from({ length: WORKERS }, (_, i) => `w${String(i + 1).padStart(2, '0')}`);

/** Resolves once the engine at `port` lists every name in `expected` among its registered workers. */
async function allRegistered(port: number, expected: string[], signal: AbortSignal): Promise<void> {
  const client = registerWorker(`ws://127.0.0.1:${port}`, {
    workerName: 'bench-probe',
    announce: false,
    reconnectionConfig: { initialDelayMs: 10, maxDelayMs: 20, jitterFactor: 0 },
  });
  try {
    for (;;) {
      signal.throwIfAborted();
      const r = await client
        .trigger<unknown, { workers: { name: string }[] }>({
          function_id: 'engine::workers::list',
          payload: {},
          timeoutMs: 2000,
        })
        .catch(() => undefined);
      const seen = new Set(r?.workers.map((w) => w.name));
      if (expected.every((n) => seen.has(n))) return;
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    await client.shutdown();
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
async function listening(port: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGINT');
  await exited;
}

export const benchCase: BenchCase = {
  name: 'start',
  description: `iii start to ${WORKERS} sandboxed Node workers registered, vs the same ${WORKERS} processes on the host`,
  requires: ['runc', 'skopeo', 'buildah'],
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const bin = join(ctx.repoRoot, 'apps/cli/bin/run.js');
    const fixture = await nodeWorker({ signal: ctx.signal });
    const home = join(ctx.workDir, 'home');
    const withWorkers = join(ctx.workDir, 'workers');
    const noWorkers = join(ctx.workDir, 'empty');
    await mkdir(withWorkers, { recursive: true });
    await mkdir(noWorkers, { recursive: true });
    await writeFile(join(noWorkers, 'config.yaml'), 'workers: []\n');
    const env = { ...process.env, III_HOME: home, CI: 'true' };

    ctx.log(`adding ${WORKERS} workers of the node-worker image`);
    for (const name of names) {
      await run(
        process.execPath,
        [bin, 'worker', 'add', `oci-layout:${fixture.layout}:${fixture.tag}`, '--name', name],
        {
          env: { ...env, III_CONFIG_PATH: join(withWorkers, 'config.yaml') },
        },
      );
    }
    // The image layer with /app holds the worker program and its node_modules for the host run.
    const inspect = await run(process.execPath, [bin, 'worker', 'inspect', names[0] as string, '--json'], {
      env: { ...env, III_CONFIG_PATH: join(withWorkers, 'config.yaml') },
    });
    const layers = (JSON.parse(inspect.stdout) as { layers: { chainId: string }[] | null }).layers ?? [];
    const app = layers
      .map((l) => join(home, 'snapshots', l.chainId.slice('sha256:'.length), 'fs', 'app'))
      .reverse()
      .find((dir) => existsSync(join(dir, 'worker.js')));
    if (!app) throw new Error('no image layer holds /app/worker.js');

    const timeIii = async (): Promise<number> => {
      const port = await freePort();
      const t0 = performance.now();
      const child = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
        env: { ...env, III_CONFIG_PATH: join(withWorkers, 'config.yaml') },
        stdio: 'ignore',
      });
      try {
        await allRegistered(port, names, ctx.signal);
        return performance.now() - t0;
      } finally {
        await stop(child);
      }
    };

    const timeHost = async (): Promise<number> => {
      const port = await freePort();
      const t0 = performance.now();
      const engine = spawn(process.execPath, [bin, 'start', '--port', String(port)], {
        env: { ...env, III_CONFIG_PATH: join(noWorkers, 'config.yaml') },
        stdio: 'ignore',
      });
      // Like `iii`, start the workers once the engine listens (else their SDK backs off for seconds).
      await listening(port, ctx.signal);
      const workers = names.map((name) =>
        spawn(process.execPath, [join(app, 'worker.js')], {
          cwd: app,
          env: {
            ...process.env,
            III_URL: `ws://127.0.0.1:${port}`,
            III_WORKER_NAME: name,
            GREETING: 'bench',
          },
          stdio: 'ignore',
        }),
      );
      try {
        await allRegistered(port, names, ctx.signal);
        return performance.now() - t0;
      } finally {
        await Promise.all(workers.map((w) => stop(w)));
        await stop(engine);
      }
    };

    ctx.log('warm-up');
    await timeIii();
    await timeHost();
    const ours: number[] = [];
    const host: number[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      ctx.log(`run ${i + 1}/${ctx.runs}`);
      ours.push(await timeIii());
      host.push(await timeHost());
    }
    await rm(join(home, 'projects'), { recursive: true, force: true });
    return [
      {
        name: `start ${WORKERS} Node workers until all registered`,
        unit: 'ms',
        ours,
        peers: { 'host processes': host },
        target: { peer: 'host processes', max: 1.3 },
      },
    ];
  },
};
