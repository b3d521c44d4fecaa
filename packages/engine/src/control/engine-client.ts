import type { ProjectPaths } from '@iii/config';
import { EngineConnectionError, InvocationError, registerWorker, type WorkerClient } from '@iii/sdk';
import {
  type EngineRecord,
  listEngineRecords,
  type RunningProject,
  readEngineRecord,
} from '../manager/engine-record.js';
import {
  EngineNotRunningError,
  type EngineSource,
  ForbiddenError,
  InvalidEngineUrlError,
  ManagerError,
  MissingTokenError,
  UnknownWorkerError,
  WorkerNotStartedError,
} from '../manager/errors.js';
import { type StopProgress, stopInParallel } from '../manager/stop-in-parallel.js';
import type { ReloadResult, StartOutcome, WorkerDetails, WorkerInfo } from '../manager/worker-info.js';
import { WorkerFunctions } from './worker-functions.js';

/** Where and how to reach an engine: the project (`$III_HOME`'s record), or a URL with its token, and the call timeout. */
export interface ConnectEngineOptions {
  /** The project whose engine to manage: its `engine.json` says where it is and holds its token. */
  project: Pick<ProjectPaths, 'home' | 'configPath' | 'engineRecord'>;
  /** How long one call may take before it fails. Default 30 s. */
  timeoutMs?: number;
  /**
   * Manage the engine at this address (`ws://host:port`) instead of the one recorded in `home`:
   * then `token` is what proves the caller is its owner.
   */
  engineUrl?: string;
  /** The management token for `engineUrl` (the CLI takes it from `$III_TOKEN`). */
  token?: string;
}

/** Which engine a control client talks to and what it presents to be its owner. */
export interface EngineTarget {
  address: string;
  token: string | undefined;
  source: EngineSource;
  /** The local record, when the engine was found through it. */
  record?: EngineRecord;
}

/**
 * The engine to manage: the one at `engineUrl` with `token`, else the running `iii` of the project,
 * from its `engine.json` with the token it wrote there. Undefined when neither is there; the engine
 * of another project is never taken instead.
 */
export async function findEngine(options: ConnectEngineOptions): Promise<EngineTarget | undefined> {
  if (options.engineUrl !== undefined) {
    if (!/^wss?:\/\/[^/\s]+/.test(options.engineUrl)) throw new InvalidEngineUrlError(options.engineUrl);
    if (!options.token) throw new MissingTokenError(options.engineUrl);
    return { address: options.engineUrl, token: options.token, source: 'url' };
  }
  const record = await readEngineRecord(options.project);
  return record ? { address: record.address, token: record.token, source: 'record', record } : undefined;
}

/**
 * Talks to the running `iii` through its engine, with `@iii/sdk`, calling the `iii::workers::*`
 * built-ins as the engine's owner (its management token on the handshake). The CLI's
 * `iii worker start|stop|restart|list|inspect` are thin layers over this.
 */
export class EngineControlClient {
  readonly target: EngineTarget;
  private readonly client: WorkerClient;
  private readonly timeoutMs: number;

  constructor(target: EngineTarget, timeoutMs = 30_000) {
    this.target = target;
    this.timeoutMs = timeoutMs;
    // One connect attempt: a dead engine must fail fast, not retry forever.
    this.client = registerWorker(target.address, {
      workerName: 'iii-cli',
      announce: false,
      reconnectionConfig: { maxRetries: 0 },
      invocationTimeoutMs: timeoutMs,
      ...(target.token ? { headers: { Authorization: `Bearer ${target.token}` } } : {}),
    });
  }

  async list(): Promise<WorkerInfo[]> {
    return (await this.call<{ workers: WorkerInfo[] }>(WorkerFunctions.list, {})).workers;
  }

  /** `reveal` shows the values filled from `${VAR}` as resolved (they are shown as written otherwise). */
  async inspect(name: string, options: { reveal?: boolean } = {}): Promise<WorkerDetails> {
    const payload = options.reveal ? { name, reveal: true } : { name };
    return (await this.call<{ worker: WorkerDetails }>(WorkerFunctions.inspect, payload)).worker;
  }

  /** Starts a worker; `started: false` says it was already running. */
  async start(name: string): Promise<StartOutcome> {
    const outcome = await this.call<StartOutcome>(WorkerFunctions.start, { name });
    // An `iii` older than this answer sends no `started`: it started the worker or found it running.
    return { ...outcome, started: outcome.started ?? true };
  }

  async stop(name: string, timeoutMs?: number): Promise<WorkerInfo> {
    return (await this.call<{ worker: WorkerInfo }>(WorkerFunctions.stop, { name, timeoutMs }, timeoutMs))
      .worker;
  }

  async restart(name: string, timeoutMs?: number): Promise<WorkerInfo> {
    return (await this.call<{ worker: WorkerInfo }>(WorkerFunctions.restart, { name, timeoutMs }, timeoutMs))
      .worker;
  }

  /**
   * Applies config.yaml and iii.lock to the running workers now (`iii reload`); `only` limits it to
   * some workers. The lines are those `iii` printed; `applied: false` says nothing was changed.
   */
  async reload(only?: readonly string[]): Promise<ReloadResult> {
    return this.call<ReloadResult>(WorkerFunctions.reload, only ? { only: [...only] } : {});
  }

  /**
   * Waits until the worker runs and holds a connection to the engine (with `digest`: runs that
   * image), checking every 100 ms. Rejects when it stops trying (it could not start, exited) or
   * after `timeoutMs`, with what it last printed.
   */
  async waitConnected(name: string, options: { timeoutMs: number; digest?: string }): Promise<WorkerInfo> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const w = (await this.list()).find((l) => l.name === name);
      if (!w) throw new UnknownWorkerError(name);
      const current = options.digest === undefined || w.digest === options.digest;
      if (current && w.connected) return w;
      // Not to be started: `enabled: false`, or held by `iii worker stop`.
      if (w.status === 'disabled' || (w.status === 'stopped' && w.stoppedAt)) return w;
      if (current && (w.error || w.status === 'exited' || w.status === 'not started')) {
        throw new ManagerError(
          'WORKER_NOT_CONNECTED',
          `worker "${name}" did not start: ${w.error ?? `${w.status}${w.lastExitCode !== undefined ? ` (exit ${w.lastExitCode})` : ''}`}`,
          `See \`iii worker logs ${name}\` and the output of \`iii\`.`,
        );
      }
      if (Date.now() >= deadline) {
        throw new ManagerError(
          'WORKER_NOT_CONNECTED',
          `worker "${name}" has not connected to the engine after ${Math.round(options.timeoutMs / 1000)}s (status: ${w.status})`,
          `It keeps starting in iii; see \`iii worker logs ${name}\`, or wait longer with --timeout.`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): Promise<void> {
    return this.client.shutdown();
  }

  private async call<T>(functionId: string, payload: Record<string, unknown>, graceMs = 0): Promise<T> {
    try {
      return await this.client.trigger<unknown, T>({
        function_id: functionId,
        payload,
        // A stop waits for the grace period; give the call that long on top.
        timeoutMs: this.timeoutMs + graceMs,
      });
    } catch (err) {
      throw toUserError(err, String(payload.name ?? ''), this.target);
    }
  }
}

/** Turns codes from the built-ins (which carry no hint over the wire) back into errors with hints. */
function toUserError(err: unknown, name: string, target: EngineTarget): unknown {
  if (err instanceof EngineConnectionError) {
    return target.source === 'url'
      ? new ManagerError(
          'ENGINE_UNREACHABLE',
          `cannot reach the engine at ${target.address}: ${err.message}`,
          'Check the address and that `iii` runs there, listening on an interface this machine reaches.',
        )
      : new EngineNotRunningError(`cannot reach its engine: ${err.message}`, {
          configPath: target.record?.configPath ?? target.address,
        });
  }
  if (!(err instanceof InvocationError)) return err;
  const message = err.message.replace(/^[a-zA-Z_]+: /, '');
  switch (err.code) {
    case 'forbidden':
      return new ForbiddenError(target.address, target.source, target.token !== undefined);
    case 'WORKER_NOT_FOUND':
      return new UnknownWorkerError(name);
    case 'WORKER_NOT_RUNNING':
      return new WorkerNotStartedError(name, message);
    case 'WORKER_DISABLED':
      return new ManagerError(
        err.code,
        message,
        `Remove \`enabled: false\` from its entry in config.yaml, then run \`iii worker start ${name}\`.`,
      );
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
  const target = await findEngine(options);
  if (!target) throw await engineNotRunning(options.project);
  return new EngineControlClient(target, options.timeoutMs);
}

/**
 * The error for a project whose `iii` does not run: it names the project, and the projects whose
 * `iii` does run with this `$III_HOME`, so a command run in the wrong directory says where to go.
 */
export async function engineNotRunning(
  project: Pick<ProjectPaths, 'home' | 'configPath'>,
  detail?: string,
): Promise<EngineNotRunningError> {
  const others = (await listEngineRecords(project.home).catch(() => [])).filter(
    (r) => r.configPath !== project.configPath,
  );
  return new EngineNotRunningError(detail, {
    configPath: project.configPath,
    others: others.map((o) => ({ configPath: o.configPath, project: o.project })),
  });
}

/**
 * Stops a worker in the running `iii`, if one runs and has it (for `iii worker remove`). Resolves
 * true when a running worker was stopped, false when there was nothing to stop.
 */
export async function stopRunningWorker(
  options: ConnectEngineOptions & { name: string; timeoutMs?: number },
): Promise<boolean> {
  const stopped = await stopRunningWorkers({ ...options, names: [options.name] });
  return stopped.length > 0;
}

/** States in which a worker runs or will run again unless it is stopped. */
const ACTIVE = new Set<string>(['starting', 'running', 'restarting']);

/** Options of {@link stopRunningWorkers}. */
export interface StopRunningWorkersOptions extends ConnectEngineOptions {
  names: readonly string[];
  /** Grace period between SIGTERM and SIGKILL (default: that of `iii`, 10 s). */
  timeoutMs?: number;
  /** Called once with the workers that run and are about to be told to stop. */
  onStopping?: (names: string[]) => void;
  /** Called as each of them has stopped, with those still being waited for. */
  onStopped?: (progress: StopProgress) => void;
}

/**
 * Stops the named workers of the running `iii` that run, all at once, reporting each as it stops.
 * Resolves the names that were stopped; workers that do not run and a stopped `iii` are no error.
 * When one failed to stop, rejects with its error after the others have stopped.
 */
export async function stopRunningWorkers(options: StopRunningWorkersOptions): Promise<string[]> {
  const target = await findEngine(options);
  if (!target) return [];
  // The calls wait for the grace period on top of the usual call timeout.
  const client = new EngineControlClient(target, options.timeoutMs ?? 30_000);
  try {
    const listed = await client.list();
    // Not only workers with a process: one starting, or waiting in backoff to restart, is stopped too.
    const running = options.names.filter((n) => {
      const w = listed.find((l) => l.name === n);
      return w !== undefined && (w.pid !== undefined || ACTIVE.has(w.status));
    });
    if (running.length === 0) return [];
    options.onStopping?.(running);
    let failure: Error | undefined;
    await stopInParallel(
      running,
      (name) => client.stop(name, options.timeoutMs),
      (progress) => {
        failure ??= progress.error;
        options.onStopped?.(progress);
      },
    );
    if (failure) throw failure;
    return running;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENGINE_NOT_RUNNING') return [];
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
  options: ConnectEngineOptions & { name: string; reveal?: boolean },
): Promise<WorkerDetails | undefined> {
  const target = await findEngine(options);
  if (!target) return undefined;
  const client = new EngineControlClient(target, options.timeoutMs ?? 10_000);
  try {
    return await client.inspect(options.name, { reveal: options.reveal });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENGINE_NOT_RUNNING' || code === 'WORKER_NOT_FOUND') return undefined;
    throw err;
  } finally {
    await client.close();
  }
}

/** The images one running project's workers use now, for a prune that must keep them. */
export interface ProjectInUse {
  project: RunningProject;
  /** Manifest digests of its workers that run, start or wait to restart. */
  digests: string[];
  /**
   * The image roots those workers run on: a merged rootfs, or the top layer's snapshot when the
   * image's layers are stacked (a merged rootfs not listed here is used by none of them).
   */
  rootfs: string[];
  /** False when its `iii` did not answer: what it runs is unknown. */
  answered: boolean;
}

/** Statuses whose worker runs its image now, or will again without anyone pinning it. */
const USING = new Set(['starting', 'running', 'restarting']);

/**
 * What the `iii` of every project running with `$III_HOME` runs now: the manifest digest of each of
 * their workers that runs, starts or waits for a restart. Asked of each engine, as its owner.
 */
export async function imagesInUse(home: string, timeoutMs = 10_000): Promise<ProjectInUse[]> {
  const running = await listEngineRecords(home);
  return Promise.all(
    running.map(async (project): Promise<ProjectInUse> => {
      const client = new EngineControlClient(
        { address: project.address, token: project.token, source: 'record', record: project },
        timeoutMs,
      );
      try {
        const using = (await client.list()).filter((w) => w.digest && USING.has(w.status));
        const digests = using.map((w) => w.digest!);
        const rootfs: string[] = [];
        for (const w of using) {
          const root = (await client.inspect(w.name)).imageRootfs;
          if (root) rootfs.push(root);
        }
        return { project, digests: [...new Set(digests)], rootfs: [...new Set(rootfs)], answered: true };
      } catch {
        return { project, digests: [], rootfs: [], answered: false };
      } finally {
        await client.close().catch(() => {});
      }
    }),
  );
}
