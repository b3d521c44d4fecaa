import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { type Engine, startEngine } from '@iii/engine';
import { InvocationError, registerWorker, type WorkerClient } from '@iii/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRustWorker } from './helpers/rust-worker.js';
import { waitForFunctions } from './helpers/worker-process.js';

// Neither side needs telemetry here; the SDK would otherwise try to export it.
const env = { ...process.env, OTEL_ENABLED: 'false' };

interface Outcome {
  result?: unknown;
  error?: { code: string | null; message: string };
}

// The official Rust SDK crate from crates.io (compiled with a target dir cached outside the clone)
// against our engine.
describe('engine with workers written with the official Rust iii-sdk crate', () => {
  let binary: string;
  let engine: Engine;
  let worker: ChildProcess;
  let ours: WorkerClient;
  let seen: Record<string, Outcome>;

  beforeAll(async () => {
    binary = await buildRustWorker();
    engine = await startEngine({ port: 0, report: () => {} });
    // With III_TOKEN set, the 0.25 SDKs send `Authorization: Bearer <it>` on the handshake; a token that
    // is not the engine's management token must still connect as an ordinary worker.
    worker = spawn(binary, ['worker', engine.address], {
      env: { ...env, III_TOKEN: 'not-the-management-token', III_WORKER_NAME: 'rust-worker' },
      stdio: 'ignore',
    });
    ours = registerWorker(engine.address, { workerName: 'node-caller' });
    ours.registerFunction('ours::echo', async (input) => ({ echoed: input, by: '@iii/sdk' }));
    await waitForFunctions(ours, ['rs::echo', 'rs::fail', 'rs::slow', 'ours::echo']);
    const caller = await new Promise<string>((resolve, reject) =>
      execFile(
        binary,
        ['caller', engine.address],
        { env: { ...env, III_WORKER_NAME: 'rust-caller' } },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    seen = JSON.parse(caller.trim().split('\n').at(-1) ?? '{}');
  }, 1_800_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await ours?.shutdown();
    await engine?.close();
  });

  it('routes calls both ways between the Rust and the Node SDK', async () => {
    await expect(ours.trigger({ function_id: 'rs::echo', payload: { n: 0 } })).resolves.toEqual({
      echoed: { n: 0, _caller_worker_id: ours.workerId },
      by: 'iii-sdk (rust)',
    });
    expect(seen.echo?.result).toEqual({
      echoed: { n: 1, _caller_worker_id: expect.any(String) },
      by: 'iii-sdk (rust)',
    });
    expect(seen.ours?.result).toEqual({
      echoed: { n: 2, _caller_worker_id: expect.any(String) },
      by: '@iii/sdk',
    });
  });

  it('turns an exception in a Rust handler into invocation_failed for callers of either SDK', async () => {
    expect(seen.fail?.error).toMatchObject({ code: 'invocation_failed' });
    expect(seen.fail?.error?.message).toContain('rust handler failed on purpose');
    const error = await ours.trigger({ function_id: 'rs::fail', payload: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvocationError);
    expect(error).toMatchObject({ code: 'invocation_failed' });
    expect((error as InvocationError).message).toContain('rust handler failed on purpose');
  });

  it('answers an unknown function with function_not_found', () => {
    expect(seen.missing?.error).toMatchObject({ code: 'function_not_found' });
    expect(seen.missing?.error?.message).toContain('nobody::here');
  });

  it('lists the Rust worker and its functions in engine::workers::list and engine::functions::list', () => {
    const { workers } = (seen.workers?.result ?? { workers: [] }) as {
      workers: Array<{ name: string; runtime: string; version: string; function_count: number }>;
    };
    expect(workers).toContainEqual(
      expect.objectContaining({ name: 'rust-worker', runtime: 'rust', function_count: 3 }),
    );
    const { functions } = (seen.functions?.result ?? { functions: [] }) as {
      functions: Array<{ function_id: string; worker_name: string; description?: string }>;
    };
    expect(functions).toContainEqual(
      expect.objectContaining({
        function_id: 'rs::echo',
        worker_name: 'rust-worker',
        description: 'echoes its input',
      }),
    );
    expect(functions.map((f) => f.function_id)).not.toContain('engine::workers::list');
  });

  it('fails a call in flight with invocation_stopped when the Rust worker dies', async () => {
    const call = ours.trigger({ function_id: 'rs::slow', payload: {} }).catch((e: unknown) => e);
    // The call must have reached the worker before it dies: wait until the engine counts it.
    for (let i = 0; i < 200; i++) {
      const { workers } = await ours.trigger<{
        workers: Array<{ name: string; active_invocations: number }>;
      }>({
        function_id: 'engine::workers::list',
        payload: {},
      });
      if (workers.find((w) => w.name === 'rust-worker')?.active_invocations) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    worker.kill('SIGKILL');
    const error = await call;
    expect(error).toBeInstanceOf(InvocationError);
    expect(error).toMatchObject({ code: 'invocation_stopped' });
  });
});
