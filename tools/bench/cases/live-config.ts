/**
 * `live-config`: while `iii` runs, how long from saving config.yaml to the worker it changes being
 * registered with the engine again (a `config:` edit restarts it), and to a worker added by the
 * edit being registered, next to the cold start of the same worker (launching `iii` with it until
 * it is registered). One Node worker (the node-worker fixture), timed through `engine::workers::list`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerWorker, type WorkerClient } from '@iii/sdk';
import { parse, stringify } from 'yaml';
import { nodeWorker } from '../../fixtures/index.ts';
import { freePort } from '../../test-env/index.ts';
import type { BenchCase, BenchContext, Measurement } from '../types.ts';

const run = promisify(execFile);

interface Entry {
  id: string;
  name: string;
}

/** Resolves with the connection of `name` once the engine lists one that `accept` takes. */
async function registered(
  client: WorkerClient,
  name: string,
  accept: (e: Entry) => boolean,
  signal: AbortSignal,
): Promise<Entry> {
  for (;;) {
    signal.throwIfAborted();
    const r = await client
      .trigger<unknown, { workers: Entry[] }>({
        function_id: 'engine::workers::list',
        payload: {},
        timeoutMs: 2000,
      })
      .catch(() => undefined);
    const found = r?.workers.find((w) => w.name === name && accept(w));
    if (found) return found;
    await new Promise((res) => setTimeout(res, 20));
  }
}

function probe(port: number): WorkerClient {
  return registerWorker(`ws://127.0.0.1:${port}`, {
    workerName: 'bench-probe',
    announce: false,
    reconnectionConfig: { initialDelayMs: 10, maxDelayMs: 20, jitterFactor: 0 },
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGINT');
  await exited;
}

/** Saves config.yaml as an editor does: a new file renamed over the old one. */
async function save(configPath: string, doc: unknown): Promise<void> {
  await writeFile(`${configPath}.swp`, stringify(doc, { aliasDuplicateObjects: false }));
  await rename(`${configPath}.swp`, configPath);
}

export const benchCase: BenchCase = {
  name: 'live-config',
  description:
    'save config.yaml to the changed worker registered again, and to an added worker registered, vs its cold start',
  requires: ['runc', 'skopeo', 'buildah'],
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const bin = join(ctx.repoRoot, 'apps/cli/bin/run.js');
    const fixture = await nodeWorker({ signal: ctx.signal });
    const home = join(ctx.workDir, 'home');
    const project = join(ctx.workDir, 'project');
    await mkdir(project, { recursive: true });
    const configPath = join(project, 'config.yaml');
    const lockPath = join(project, 'iii.lock');
    const env = { ...process.env, III_HOME: home, III_CONFIG_PATH: configPath, CI: 'true' };
    ctx.log('adding the node-worker image as "w"');
    await run(
      process.execPath,
      [bin, 'worker', 'add', `oci-layout:${fixture.layout}:${fixture.tag}`, '--name', 'w'],
      {
        env,
      },
    );
    const base = parse(await readFile(configPath, 'utf8'));
    const entry = base.workers[0];
    const lock = parse(await readFile(lockPath, 'utf8'));

    /** `iii` with worker "w" alone: how long until it is registered (the cold start). */
    const launch = async () => {
      await save(configPath, { ...base, workers: [entry] });
      const port = await freePort();
      const t0 = performance.now();
      const child = spawn(process.execPath, [bin, 'start', '--port', String(port)], { env, stdio: 'ignore' });
      const client = probe(port);
      const first = await registered(client, 'w', () => true, ctx.signal);
      return { child, client, first, coldMs: performance.now() - t0 };
    };

    const cold: number[] = [];
    const edit: number[] = [];
    const added: number[] = [];
    for (let i = 0; i <= ctx.runs; i++) {
      ctx.log(i === 0 ? 'warm-up' : `run ${i}/${ctx.runs}`);
      const { child, client, first, coldMs } = await launch();
      try {
        // A `config:` edit of "w": it is restarted and registers again, on a new connection.
        let t0 = performance.now();
        await save(configPath, {
          ...base,
          workers: [{ ...entry, config: { ...entry.config, BENCH_RUN: String(i) } }],
        });
        await registered(client, 'w', (e) => e.id !== first.id, ctx.signal);
        const editMs = performance.now() - t0;
        // A second worker of the same image, added by the edit (pinned like "w").
        await writeFile(lockPath, stringify({ ...lock, workers: { ...lock.workers, w2: lock.workers.w } }));
        t0 = performance.now();
        await save(configPath, { ...base, workers: [entry, { ...entry, name: 'w2' }] });
        await registered(client, 'w2', () => true, ctx.signal);
        const addMs = performance.now() - t0;
        if (i > 0) {
          cold.push(coldMs);
          edit.push(editMs);
          added.push(addMs);
        }
      } finally {
        await client.shutdown();
        await stop(child);
        await writeFile(lockPath, stringify(lock));
      }
    }
    await rm(join(home, 'projects'), { recursive: true, force: true });
    return [
      {
        name: 'save config.yaml -> the changed worker registered again',
        unit: 'ms',
        ours: edit,
        peers: { 'cold start of iii with it': cold },
      },
      {
        name: 'save config.yaml -> an added worker registered',
        unit: 'ms',
        ours: added,
        peers: { 'cold start of iii with it': cold },
      },
    ];
  },
};
