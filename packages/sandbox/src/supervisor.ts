import { EventEmitter } from 'node:events';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type BackoffOptions, restartDelay, type SandboxRestartPolicy, shouldRestart } from './backoff.js';
import { type ContainerCgroup, findContainerCgroup, readOomKills } from './cgroup.js';
import { type Clock, systemClock } from './clock.js';
import type { LogStream } from './logs/record.js';
import type { LogWriter } from './logs/writer.js';
import type { RuntimeDriver } from './runtime/driver.js';

/** Where a supervised worker is in its life. */
export type WorkerStatus = 'starting' | 'running' | 'restarting' | 'exited' | 'stopped';

/** A supervised worker's state: status, pid, restarts and how it last exited. */
export interface WorkerState {
  status: WorkerStatus;
  /** Host pid of the container's init while it runs. */
  pid?: number;
  /** How many times the worker was restarted after exiting. */
  restarts: number;
  exitCode?: number;
  /** Whether the last run ended because the kernel OOM killer killed a process of the worker. */
  oomKilled: boolean;
  /** Epoch ms when the current (or last) run started. */
  startedAt?: number;
  finishedAt?: number;
  /** While `restarting`: the delay chosen and when the next start is due. */
  restartDelayMs?: number;
  nextStartAt?: number;
  /** A failure of the sandbox itself (not of the worker) that ended the last run. */
  error?: string;
}

/** How one run of a worker ended: exit code, whether the kernel killed it for memory, how long it ran. */
export interface ExitEvent {
  exitCode: number;
  oomKilled: boolean;
  /** How long the run lasted, in ms. */
  ranMs: number;
}

/** Options of {@link Supervisor}: the runtime driver, container, restart policy, logs and clock. */
export interface SupervisorOptions {
  driver: RuntimeDriver;
  /** Container id (unique on the host). */
  id: string;
  bundle: string;
  /** The spec's `cgroupsPath`, if set: where to find the container's counters after it exits. */
  cgroupsPath?: string;
  /** Directory for pid files. */
  runDir: string;
  /**
   * Whether the container has a cgroup of its own to read the OOM counter from. False when the
   * runtime could create none (rootless): the cgroup it sits in is then ours. Default true.
   */
  ownCgroup?: boolean;
  restart?: SandboxRestartPolicy;
  backoff?: BackoffOptions;
  logs?: LogWriter;
  clock?: Clock;
  /**
   * Asked when a restart after backoff is due: false ends the worker (`stopped`) instead, e.g.
   * because it was removed from config.yaml while it waited.
   */
  beforeRestart?: () => boolean | Promise<boolean>;
}

/**
 * Feeds a worker's output stream into its log. While the log's disk lags behind, the pipe is paused,
 * so a worker that prints faster than the disk takes blocks on its own writes instead of the log
 * growing without bound in memory.
 */
function captureInto(logs: LogWriter, stream: LogStream, source: Readable): void {
  source.on('data', (d: Buffer) => {
    if (logs.write(stream, d)) return;
    source.pause();
    logs.once('drain', () => source.resume());
  });
}

/** Options of {@link Supervisor.stop}: the grace period before SIGKILL. */
export interface StopOptions {
  /** Grace period between SIGTERM and SIGKILL. Default 10 s. */
  timeoutMs?: number;
}

interface Run {
  done: Promise<void>;
  exited: boolean;
  /** Resolves once the container exists (pid known) or the run has ended. */
  started: Promise<void>;
}

/**
 * Keeps one container running under a restart policy. Each run is a foreground runtime process
 * (`runc run --keep`), so the exit status comes straight from the runtime and the stopped
 * container's cgroup can still be read to tell an OOM kill apart from any other SIGKILL.
 *
 * Events: `state` (WorkerState) on every change, `exit` (ExitEvent) after each run.
 */
export class Supervisor extends EventEmitter<{ state: [WorkerState]; exit: [ExitEvent] }> {
  private readonly o: SupervisorOptions;
  private readonly clock: Clock;
  private current: WorkerState = { status: 'stopped', restarts: 0, oomKilled: false };
  private run: Run | undefined;
  private timer: unknown;
  private attempt = 0;
  private stopping = false;
  private settled: Promise<void> = Promise.resolve();
  private settle: () => void = () => {};

  constructor(options: SupervisorOptions) {
    super();
    this.o = options;
    this.clock = options.clock ?? systemClock;
  }

  state(): WorkerState {
    return { ...this.current };
  }

  get id(): string {
    return this.o.id;
  }

  /** Starts the worker (a no-op while it runs or waits to restart). */
  start(): void {
    if (
      this.current.status === 'starting' ||
      this.current.status === 'running' ||
      this.current.status === 'restarting'
    ) {
      return;
    }
    this.stopping = false;
    this.attempt = 0;
    this.current = { status: 'stopped', restarts: 0, oomKilled: false };
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.launch();
  }

  /** Resolves when the worker has reached `exited` or `stopped` and its container is gone. */
  whenSettled(): Promise<void> {
    return this.settled;
  }

  /** SIGTERM, then SIGKILL after the grace period; no restart follows. Resolves once the container is deleted. */
  async stop(options: StopOptions = {}): Promise<WorkerState> {
    this.stopping = true;
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
      this.update({ status: 'stopped', restartDelayMs: undefined, nextStartAt: undefined });
      this.settle();
    }
    const run = this.run;
    if (run && !run.exited) {
      await run.started;
      const grace = options.timeoutMs ?? 10_000;
      await this.o.driver.kill(this.o.id, 'SIGTERM').catch(() => false);
      const timedOut = await new Promise<boolean>((resolve) => {
        const t = this.clock.setTimeout(() => resolve(true), grace);
        run.done.then(() => {
          this.clock.clearTimeout(t);
          resolve(false);
        });
      });
      if (timedOut) {
        // Without a cgroup of its own the runtime cannot list the container's processes (`--all`);
        // killing its init ends the whole pid namespace anyway.
        await this.o.driver
          .kill(this.o.id, 'SIGKILL', { all: this.o.ownCgroup !== false })
          .catch(() => false);
      }
      await run.done;
    }
    await this.settled;
    return this.state();
  }

  private update(patch: Partial<WorkerState>): void {
    const next = { ...this.current, ...patch };
    for (const k of Object.keys(next) as (keyof WorkerState)[]) if (next[k] === undefined) delete next[k];
    this.current = next;
    this.emit('state', this.state());
  }

  private launch(isRestart = false): void {
    this.timer = undefined;
    let markStarted: () => void = () => {};
    const started = new Promise<void>((r) => {
      markStarted = r;
    });
    const run: Run = { exited: false, started, done: Promise.resolve() };
    run.done = this.runOnce(run, markStarted, isRestart).catch((err: Error) => {
      // A failure of our own (not of the worker): report it, never leave the state hanging.
      run.exited = true;
      markStarted();
      this.update({
        status: 'exited',
        pid: undefined,
        exitCode: 255,
        finishedAt: this.clock.now(),
        error: err.message,
      });
      this.settle();
    });
    this.run = run;
  }

  private async runOnce(run: Run, markStarted: () => void, isRestart: boolean): Promise<void> {
    const { driver, id, bundle, runDir, logs } = this.o;
    this.update({
      status: 'starting',
      restarts: this.current.restarts + (isRestart ? 1 : 0),
      pid: undefined,
      oomKilled: false,
      exitCode: undefined,
      error: undefined,
      restartDelayMs: undefined,
      nextStartAt: undefined,
    });
    await mkdir(runDir, { recursive: true });
    const pidFile = join(runDir, 'init.pid');
    await rm(pidFile, { force: true });
    // A container of the same id left by a crash would make the runtime refuse to start.
    await driver.delete(id, { force: true });

    const startedAt = this.clock.now();
    const proc = driver.run(id, bundle, { pidFile, keep: true });
    if (logs) {
      captureInto(logs, 'stdout', proc.stdout);
      captureInto(logs, 'stderr', proc.stderr);
    }
    let exited = false;
    const exit = proc.exited.then((e) => {
      exited = true;
      return e;
    });

    // The runtime writes the pid file once the container exists; it is the host pid of its init.
    let cgroup: ContainerCgroup | undefined;
    while (!exited && !this.current.pid) {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      const pid = Number.parseInt(text, 10);
      if (pid > 0) {
        if (this.o.ownCgroup !== false)
          cgroup = await findContainerCgroup({
            pid,
            id,
            ...(this.o.cgroupsPath ? { cgroupsPath: this.o.cgroupsPath } : {}),
          });
        if (!exited) this.update({ status: 'running', pid, startedAt });
        break;
      }
      await Promise.race([exit, new Promise((r) => setTimeout(r, 20))]);
    }
    markStarted();

    const { exitCode } = await exit;
    run.exited = true;
    const finishedAt = this.clock.now();
    logs?.endOfOutput();
    if (this.o.ownCgroup !== false) {
      cgroup ??= await findContainerCgroup({
        id,
        ...(this.o.cgroupsPath ? { cgroupsPath: this.o.cgroupsPath } : {}),
      });
    }
    // With --keep the stopped container's cgroup is still there to read the OOM counter from.
    const oomKilled = cgroup !== undefined && ((await readOomKills(cgroup)) ?? 0) > 0;
    await driver.delete(id, { force: true });
    const ranMs = finishedAt - startedAt;
    const ended = { exitCode, oomKilled, finishedAt, pid: undefined };
    this.emit('exit', { exitCode, oomKilled, ranMs });

    const policy = this.o.restart ?? 'on-failure';
    if (this.stopping || !shouldRestart(policy, exitCode)) {
      this.update({ ...ended, status: this.stopping ? 'stopped' : 'exited' });
      this.settle();
      return;
    }
    if (ranMs >= (this.o.backoff?.resetAfterMs ?? 60_000)) this.attempt = 0;
    const delay = restartDelay(this.attempt++, this.o.backoff);
    this.update({ ...ended, status: 'restarting', restartDelayMs: delay, nextStartAt: finishedAt + delay });
    this.timer = this.clock.setTimeout(async () => {
      if (this.stopping) return;
      const go = await Promise.resolve(this.o.beforeRestart?.() ?? true).catch(() => true);
      // A stop that came while the hook was asked has already ended the worker.
      if (this.stopping || this.timer === undefined) return;
      if (!go) {
        this.timer = undefined;
        this.stopping = true;
        this.update({ status: 'stopped', restartDelayMs: undefined, nextStartAt: undefined });
        this.settle();
        return;
      }
      this.launch(true);
    }, delay);
  }
}
