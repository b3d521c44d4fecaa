/**
 * `languages`: one worker per language, each in its own sandbox under `iii`: cold start (launching
 * `iii` with the worker already added, until its function answers) and sequential invocations per
 * second from an `@iii/sdk` client. The Python and Rust workers are the `iii init` templates built
 * with `iii worker build` (buildah) FROM the Debian stand-ins of the tests; the Node worker is the
 * `node-worker` fixture (official `iii-sdk`). Python and Rust are reported against Node.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerWorker } from '@iii/sdk';
import { debianBase, nodeWorker, pythonBase, rustBase, testCacheDir } from '../../fixtures/index.ts';
import { freePort } from '../../test-env/index.ts';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';

const run = promisify(execFile);
const CALLS = 200;

interface Worker {
  label: string;
  functionId: string;
  config: string;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGINT');
  await exited;
}

export const benchCase: BenchCase = {
  name: 'languages',
  description: 'cold start and sequential invocations/s of a Python and a Rust worker, next to a Node worker',
  requires: ['runc', 'skopeo', 'buildah', 'debootstrap', 'cargo'],
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const bin = join(ctx.repoRoot, 'apps/cli/bin/run.js');
    const home = join(ctx.workDir, 'home');
    const env = { ...process.env, III_HOME: home, CI: 'true' };
    const iii = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      run(process.execPath, [bin, ...args], {
        cwd: ctx.workDir,
        env: { ...env, ...extra },
        maxBuffer: 16 << 20,
      });

    const build = async (name: string, lang: string, args: Record<string, string>, extra = {}) => {
      ctx.log(`building the ${lang} template (${name})`);
      await iii(['init', name, '--lang', lang]);
      const buildArgs = Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
      const { stdout } = await iii(
        [
          'worker',
          'build',
          join(ctx.workDir, name),
          '-t',
          `${name}:0.1.0`,
          '--builder',
          'buildah',
          ...buildArgs,
          '--json',
        ],
        extra,
      );
      return (JSON.parse(stdout) as { source: string }).source;
    };
    const [python, rust, base] = await Promise.all([pythonBase(), rustBase(), debianBase()]);
    const buildahTmp = join(testCacheDir(), 'buildah-tmp');
    await mkdir(buildahTmp, { recursive: true });
    const node = await nodeWorker({ signal: ctx.signal });
    const sources: Array<[string, string, string]> = [
      ['Node', `oci-layout:${node.layout}:${node.tag}`, 'node-worker::echo'],
      ['Python', await build('bench-py', 'python', { BASE_IMAGE: python.ref }), 'bench-py::hello'],
      [
        'Rust',
        await build(
          'bench-rs',
          'rust',
          { RUST_IMAGE: rust.ref, BASE_IMAGE: base.ref },
          { TMPDIR: buildahTmp, III_BUILDAH_STORAGE_DRIVER: 'overlay' },
        ),
        'bench-rs::hello',
      ],
    ];
    const workers: Worker[] = [];
    for (const [label, source, functionId] of sources) {
      const dir = join(ctx.workDir, `config-${label.toLowerCase()}`);
      await mkdir(dir, { recursive: true });
      const config = join(dir, 'config.yaml');
      await writeFile(config, 'workers: []\n');
      await iii(['worker', 'add', source, '--config', config]);
      workers.push({ label, functionId, config });
    }

    /** Starts iii with one worker; resolves with the time until its function answers, and the engine. */
    const coldStart = async (w: Worker) => {
      const port = await freePort();
      const t0 = performance.now();
      const child = spawn(process.execPath, [bin, 'start', '--port', String(port), '--config', w.config], {
        env,
        stdio: 'ignore',
      });
      const client = registerWorker(`ws://127.0.0.1:${port}`, {
        workerName: 'bench-caller',
        announce: false,
        reconnectionConfig: { initialDelayMs: 10, maxDelayMs: 20, jitterFactor: 0 },
      });
      for (;;) {
        ctx.signal.throwIfAborted();
        const ok = await client
          .trigger({ function_id: w.functionId, payload: { name: 'bench' }, timeoutMs: 2000 })
          .then(() => true)
          .catch(() => false);
        if (ok) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      return { ms: performance.now() - t0, child, client };
    };

    const cold: Record<string, number[]> = {};
    const rate: Record<string, number[]> = {};
    for (const w of workers) {
      cold[w.label] = [];
      rate[w.label] = [];
      ctx.log(`${w.label}: warm-up`);
      const warm = await coldStart(w);
      await warm.client.shutdown();
      await stop(warm.child);
      for (let i = 0; i < ctx.runs; i++) {
        ctx.log(`${w.label}: run ${i + 1}/${ctx.runs}`);
        const { ms, child, client } = await coldStart(w);
        try {
          cold[w.label]?.push(ms);
          const t0 = performance.now();
          for (let c = 0; c < CALLS; c++) {
            await client.trigger({ function_id: w.functionId, payload: { name: 'bench' } });
          }
          rate[w.label]?.push(CALLS / ((performance.now() - t0) / 1000));
        } finally {
          await client.shutdown();
          await stop(child);
        }
      }
    }
    const measurements: Measurement[] = [];
    for (const label of ['Python', 'Rust']) {
      measurements.push(
        {
          name: `cold start: iii to the ${label} worker's function answering`,
          unit: 'ms',
          ours: cold[label] ?? [],
          peers: { 'Node worker': cold.Node ?? [] },
        },
        {
          name: `sequential invocations of the ${label} worker`,
          unit: 'ops/s',
          ours: rate[label] ?? [],
          peers: { 'Node worker': rate.Node ?? [] },
          higherIsBetter: true,
        },
      );
    }
    return measurements;
  },
};
