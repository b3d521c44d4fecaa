import { EngineConnectionError, InvocationError, registerWorker, type WorkerClient } from '@iii/sdk';
import { type EngineRecord, readEngineRecord } from '../manager/engine-record.js';
import {
  EngineNotRunningError,
  ManagerError,
  UnknownWorkerError,
  WorkerNotStartedError,
} from '../manager/errors.js';
import type { WorkerDetails, WorkerInfo } from '../manager/worker-info.js';
import { WorkerFunctions } from './worker-functions.js';

export interface ConnectEngineOptions {
  /** `$III_HOME`, where `run/engine.json` says where the engine is. */
  home: string;
  /** How long one call may take before it fails. Default 30 s. */
  timeoutMs?: number;
}

/**
 * Talks to the running `iii` through its engine, with `@iii/sdk`, calling the `iii::workers::*`
 * built-ins. The CLI's `iii worker start|stop|restart|list|inspect` are thin layers over this.
 */
export class EngineControlClient {
  readonly record: EngineRecord;
  private readonly client: WorkerClient;
  private readonly timeoutMs: number;

  constructor(record: EngineRecord, timeoutMs = 30_000) {
    this.record = record;
    this.timeoutMs = timeoutMs;
    // One connect attempt: a dead engine must fail fast, not retry forever.
    this.client = registerWorker(record.address, {
      workerName: 'iii-cli',
      announce: false,
      reconnectionConfig: { maxRetries: 0 },
      invocationTimeoutMs: timeoutMs,
    });
  }

  async list(): Promise<WorkerInfo[]> {
    return (await this.call<{ workers: WorkerInfo[] }>(WorkerFunctions.list, {})).workers;
  }

  async inspect(name: string): Promise<WorkerDetails> {
    return (await this.call<{ worker: WorkerDetails }>(WorkerFunctions.inspect, { name })).worker;
  }

  async start(name: string): Promise<WorkerInfo> {
    return (await this.call<{ worker: WorkerInfo }>(WorkerFunctions.start, { name })).worker;
  }

  async stop(name: string, timeoutMs?: number): Promise<WorkerInfo> {
    return (await this.call<{ worker: WorkerInfo }>(WorkerFunctions.stop, { name, timeoutMs }, timeoutMs))
      .worker;
  }

  async restart(name: string, timeoutMs?: number): Promise<WorkerInfo> {
    return (await this.call<{ worker: WorkerInfo }>(WorkerFunctions.restart, { name, timeoutMs }, timeoutMs))
      .worker;
  }

  close(): Promise<void> {
    return this.client.shutdown();
  }

  private async call<T>(functionId: string, payload: Record<string, unknown>, graceMs = 0): Promise<T> {
    try {
      return await this.client.trigger<T>({
        function_id: functionId,
        payload,
        // A stop waits for the grace period; give the call that long on top.
        timeoutMs: this.timeoutMs + graceMs,
      });
    } catch (err) {
      throw toUserError(err, String(payload.name ?? ''));
    }
  }
}

/** Turns codes from the built-ins (which carry no hint over the wire) back into errors with hints. */
function toUserError(err: unknown, name: string): unknown {
  if (err instanceof EngineConnectionError)
    return new EngineNotRunningError(`cannot reach its engine: ${err.message}`);
  if (!(err instanceof InvocationError)) return err;
  const message = err.message.replace(/^[a-zA-Z_]+: /, '');
  switch (err.code) {
    case 'WORKER_NOT_FOUND':
      return new UnknownWorkerError(name);
    case 'WORKER_NOT_RUNNING':
      return new WorkerNotStartedError(name, message);
    case 'function_not_found':
      return new ManagerError(
        'ENGINE_WITHOUT_MANAGER',
        'the running engine does not manage workers',
        'Start the engine with `iii` (or `iii start`), which runs the workers of config.yaml.',
      );
    case 'TIMEOUT':
      return new ManagerError('ENGINE_TIMEOUT', message, 'iii did not answer in time; check its output.');
    default:
      return new ManagerError(err.code, message, 'See the output of `iii` for details.');
  }
}

/** Connects to the running `iii`, or throws {@link EngineNotRunningError} when there is none. */
export async function connectEngine(options: ConnectEngineOptions): Promise<EngineControlClient> {
  const record = await readEngineRecord(options.home);
  if (!record) throw new EngineNotRunningError();
  return new EngineControlClient(record, options.timeoutMs);
}

/**
 * Stops a worker in the running `iii`, if one runs and has it (for `iii worker remove`). Resolves
 * true when a running worker was stopped, false when there was nothing to stop.
 */
export async function stopRunningWorker(
  options: ConnectEngineOptions & { name: string; timeoutMs?: number },
): Promise<boolean> {
  const record = await readEngineRecord(options.home);
  if (!record) return false;
  const client = new EngineControlClient(record, options.timeoutMs ?? 30_000);
  try {
    const before = (await client.list()).find((w) => w.name === options.name);
    if (!before || before.pid === undefined) return false;
    await client.stop(options.name, options.timeoutMs);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENGINE_NOT_RUNNING') return false;
    throw err;
  } finally {
    await client.close();
  }
}

/**
 * The run-time state of a worker from the running `iii` (for `iii worker inspect`), or undefined
 * when `iii` is not running or does not know the worker.
 */
export async function runningWorkerDetails(
  options: ConnectEngineOptions & { name: string },
): Promise<WorkerDetails | undefined> {
  const record = await readEngineRecord(options.home);
  if (!record) return undefined;
  const client = new EngineControlClient(record, options.timeoutMs ?? 10_000);
  try {
    return await client.inspect(options.name);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENGINE_NOT_RUNNING' || code === 'WORKER_NOT_FOUND') return undefined;
    throw err;
  } finally {
    await client.close();
  }
}
