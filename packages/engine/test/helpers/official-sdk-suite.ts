import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { type Engine, startEngine } from '@iii/engine';
import { InvocationError, registerWorker, type WorkerClient } from '@iii/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForFunctions } from './worker-process.js';

interface Outcome {
  result?: unknown;
  error?: { code: string | null; message: string };
}

/** One official SDK's test program: `<command...> worker <address>` serves, `... caller <address>` calls. */
export interface OfficialSdkProgram {
  /** The program and its leading arguments, e.g. `[python, script]` or `[binary]`. */
  command: string[];
  /** Environment for both modes (telemetry off, and whatever the language needs). */
  env: NodeJS.ProcessEnv;
  /** Extra environment of the serving worker, e.g. its III_WORKER_NAME. */
  workerEnv?: NodeJS.ProcessEnv;
  /** Extra environment of the calling program. */
  callerEnv?: NodeJS.ProcessEnv;
}

export interface OfficialSdkSuiteOptions {
  /** `Python`, `Rust`: how the tests name the language. */
  language: string;
  /** The function id prefix its worker registers (`py`, `rs`). */
  prefix: string;
  /** The name its worker shows in the engine's listings. */
  workerName: string;
  /** Builds or finds the program (cached outside the clone). */
  prepare: () => Promise<OfficialSdkProgram>;
  /** How long preparing may take on a cold cache. */
  prepareTimeoutMs: number;
}

/**
 * The same protocol checks for every official SDK against our engine (one suite, run per
 * implementation): calls both ways with `@iii/sdk`, a failing handler, an unknown function, the
 * `engine::*` listings, and a worker that dies mid-call. The program prints the outcomes of its own
 * calls as one JSON line.
 */
export function officialSdkSuite(options: OfficialSdkSuiteOptions): void {
  const { language, prefix, workerName } = options;
  const lower = language.toLowerCase();
  describe(`engine with workers written with the official ${language} iii-sdk`, () => {
    let engine: Engine;
    let worker: ChildProcess;
    let ours: WorkerClient;
    let seen: Record<string, Outcome>;

    beforeAll(async () => {
      const program = await options.prepare();
      const [file, ...args] = program.command as [string, ...string[]];
      engine = await startEngine({ port: 0, report: () => {} });
      // With III_TOKEN set, the 0.25 SDKs send `Authorization: Bearer <it>` on the handshake; a token
      // that is not the engine's management token must still connect as an ordinary worker.
      worker = spawn(file, [...args, 'worker', engine.address], {
        env: { ...program.env, III_TOKEN: 'not-the-management-token', ...program.workerEnv },
        stdio: 'ignore',
      });
      ours = registerWorker(engine.address, { workerName: 'node-caller' });
      ours.registerFunction('ours::echo', async (input) => ({ echoed: input, by: '@iii/sdk' }));
      await waitForFunctions(ours, [`${prefix}::echo`, `${prefix}::fail`, `${prefix}::slow`, 'ours::echo']);
      const caller = await new Promise<string>((resolve, reject) =>
        execFile(
          file,
          [...args, 'caller', engine.address],
          { env: { ...program.env, ...program.callerEnv } },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      seen = JSON.parse(caller.trim().split('\n').at(-1) ?? '{}');
    }, options.prepareTimeoutMs);

    afterAll(async () => {
      if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await ours?.shutdown();
      await engine?.close();
    });

    it(`routes calls both ways between the ${language} and the Node SDK`, async () => {
      await expect(ours.trigger({ function_id: `${prefix}::echo`, payload: { n: 0 } })).resolves.toEqual({
        echoed: { n: 0, _caller_worker_id: ours.workerId },
        by: `iii-sdk (${lower})`,
      });
      expect(seen.echo?.result).toEqual({
        echoed: { n: 1, _caller_worker_id: expect.any(String) },
        by: `iii-sdk (${lower})`,
      });
      expect(seen.ours?.result).toEqual({
        echoed: { n: 2, _caller_worker_id: expect.any(String) },
        by: '@iii/sdk',
      });
    });

    it(`turns an exception in a ${language} handler into invocation_failed for callers of either SDK`, async () => {
      expect(seen.fail?.error).toMatchObject({ code: 'invocation_failed' });
      expect(seen.fail?.error?.message).toContain(`${lower} handler failed on purpose`);
      const error = await ours
        .trigger({ function_id: `${prefix}::fail`, payload: {} })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvocationError);
      expect(error).toMatchObject({ code: 'invocation_failed' });
      expect((error as InvocationError).message).toContain(`${lower} handler failed on purpose`);
    });

    it('answers an unknown function with function_not_found', () => {
      expect(seen.missing?.error).toMatchObject({ code: 'function_not_found' });
      expect(seen.missing?.error?.message).toContain('nobody::here');
    });

    it(`lists the ${language} worker and its functions in engine::workers::list and engine::functions::list`, () => {
      const { workers } = (seen.workers?.result ?? { workers: [] }) as {
        workers: Array<{ name: string; runtime: string; version: string; function_count: number }>;
      };
      expect(workers).toContainEqual(
        expect.objectContaining({ name: workerName, runtime: lower, function_count: 3 }),
      );
      const { functions } = (seen.functions?.result ?? { functions: [] }) as {
        functions: Array<{ function_id: string; worker_name: string; description?: string }>;
      };
      expect(functions).toContainEqual(
        expect.objectContaining({
          function_id: `${prefix}::echo`,
          worker_name: workerName,
          description: 'echoes its input',
        }),
      );
      expect(functions.map((f) => f.function_id)).not.toContain('engine::workers::list');
    });

    it(`fails a call in flight with invocation_stopped when the ${language} worker dies`, async () => {
      const call = ours.trigger({ function_id: `${prefix}::slow`, payload: {} }).catch((e: unknown) => e);
      // The call must have reached the worker before it dies: wait until the engine counts it.
      for (let i = 0; i < 200; i++) {
        const { workers } = await ours.trigger<
          unknown,
          {
            workers: Array<{ name: string; active_invocations: number }>;
          }
        >({
          function_id: 'engine::workers::list',
          payload: {},
        });
        if (workers.find((w) => w.name === workerName)?.active_invocations) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      worker.kill('SIGKILL');
      const error = await call;
      expect(error).toBeInstanceOf(InvocationError);
      expect(error).toMatchObject({ code: 'invocation_stopped' });
    });
  });
}
