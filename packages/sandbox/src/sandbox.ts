import { EventEmitter } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackoffOptions, SandboxRestartPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import { RootfsError, RuntimeUnavailableError, SandboxError, WorkerNotRunningError } from './errors.js';
import { hostsFile, resolvConf } from './etc-files.js';
import { type ExecHandle, type ExecRequest, type ExecResult, startExec } from './exec.js';
import { readHostLimits } from './host-limits.js';
import { findInit, INIT_BINARY, type SandboxInit } from './init.js';
import { type LeftoverReport, removeLeftovers } from './leftovers.js';
import { type ReadLogsOptions, readLogs } from './logs/reader.js';
import type { LogLine, LogStream } from './logs/record.js';
import { LogWriter, type LogWriterOptions } from './logs/writer.js';
import { lockedMountFlags, type MountEntry, mountOf, readMounts } from './mountinfo.js';
import { containerId, type WorkerPaths, workerPaths } from './paths.js';
import type { ImageLayer, ImageRoot } from './root-file.js';
import { readFileInRoot } from './root-file.js';
import {
  overlayLayersOf,
  overlayStackProblem,
  type PreparedRootfs,
  prepareRootfs,
  releaseRootfs,
} from './rootfs.js';
import { type DetectedRuntime, detectRuntime, probeRuntime } from './runtime/detect.js';
import type { RuntimeDriver } from './runtime/driver.js';
import type { OciRuntimeSpec } from './runtime-spec.js';
import { detectSandboxMode, type SandboxMode } from './sandbox-mode.js';
import {
  buildResources,
  buildSpec,
  CPU_PERIOD_US,
  type HostLimits,
  type RootlessIds,
  type SandboxImageConfig,
  type SandboxResources,
  type SandboxWorkerEntry,
} from './spec.js';
import { type StopOptions, Supervisor, type WorkerState } from './supervisor.js';
import { Watchdog, waitForOrphanedWatchdog } from './watchdog.js';
import type { WorkerProcess } from './worker-process.js';

/** Options of {@link Sandbox}: its state directory, runtime, rootfs mode, host limits and clock. */
export interface SandboxOptions {
  /** Where the sandbox keeps runtime state, bundles, overlays and logs (e.g. `$III_HOME/sandbox`). */
  stateDir: string;
  /** `runc`, `crun` or a path; default `$III_RUNTIME`, else the first that works. */
  runtime?: string;
  /** Fail instead of falling back when the chosen runtime does not work. */
  strictRuntime?: boolean;
  /** Use a driver directly instead of detecting one. */
  driver?: RuntimeDriver;
  env?: NodeJS.ProcessEnv;
  /** `auto` (default): overlayfs, or a per-worker copy where it cannot be mounted. */
  rootfsMode?: 'auto' | 'overlay' | 'copy';
  logs?: Omit<LogWriterOptions, 'now'>;
  clock?: Clock;
  /** Default: read from /proc/self/limits and our cgroup. */
  hostLimits?: HostLimits;
  /** Rootful or rootless, and what the cgroups allow. Default: detected (rootless when not root). */
  mode?: SandboxMode;
  /**
   * Parent cgroup for worker containers (e.g. `/iii`). Default: the runtime's own choice (runc:
   * below our cgroup on v1, below its parent on v2, where a cgroup with processes cannot have
   * controlled children).
   */
  cgroupParent?: string;
  /**
   * Start a watchdog process that stops every worker of this state directory when this process
   * dies without {@link Sandbox.close} (crash, OOM kill, SIGKILL). Default true.
   */
  watchdog?: boolean;
  /** Where the sandbox says what it did on its own (a watchdog replaced). */
  report?: (message: string) => void;
  /**
   * The init run as PID 1 of each worker (see {@link SandboxWorkerEntry.init}): a path to its
   * static binary, or false for none. Default: `tini-static` on `PATH`, none when it is missing.
   */
  init?: string | false;
}

/** Everything needed to run one worker. */
export interface WorkerDefinition extends SandboxWorkerEntry {
  /** The cached, unpacked image rootfs (read-only lower layer). */
  imageRootfs: string;
  /**
   * The image's layers (snapshots, top first), stacked by overlayfs as the lower layers instead of
   * `imageRootfs` (which then only names the image). Check {@link Sandbox.stackProblem} first.
   */
  imageLayers?: readonly ImageLayer[];
  imageConfig: SandboxImageConfig;
  /** The engine address workers dial. */
  engineUrl: string;
  /**
   * Argv and environment as the caller planned them (the engine: `planWorkerProcess` of
   * `@iii/workers`, the same call `iii worker inspect` shows). Default: {@link workerProcess} here.
   */
  process?: WorkerProcess;
  restart?: SandboxRestartPolicy;
  backoff?: BackoffOptions;
  /** Grace period of `stop` when the caller gives none. Default 10 s. */
  stopTimeoutMs?: number;
  /** Asked before each restart after backoff; false ends the worker instead (see {@link Supervisor}). */
  beforeRestart?: () => boolean | Promise<boolean>;
}

/**
 * How worker roots are made: an overlay the host mounts (root), an overlay the runtime mounts
 * inside the sandbox's user namespace (rootless, kernel >= 5.11), or a private copy.
 */
export interface RootfsSupport {
  kind: 'overlay' | 'userns-overlay' | 'copy';
  /** Why no overlay is used, when it is a copy. */
  reason?: string;
}

/** What {@link Worker.updateResources} did: changed the limits in place, or why it could not. */
export type ResourceUpdate = { inPlace: true } | { inPlace: false; reason: string };

/** A worker the sandbox runs. */
export class Worker extends EventEmitter<{ state: [WorkerState] }> {
  readonly name: string;
  readonly id: string;
  readonly paths: WorkerPaths;
  readonly spec: OciRuntimeSpec;
  readonly rootfs: PreparedRootfs;
  readonly definition: WorkerDefinition;
  /** What runs differently from what the image asks, and why (e.g. its USER, rootless). */
  readonly notes: readonly string[];
  /** Whether an init (tini) is PID 1 of its sandbox, with the worker's argv below it. */
  readonly init: boolean;
  private readonly supervisor: Supervisor;
  private readonly logWriter: LogWriter;
  private readonly sandbox: Sandbox;
  private released: Promise<void> | undefined;

  /** @internal */
  constructor(init: {
    sandbox: Sandbox;
    definition: WorkerDefinition;
    id: string;
    paths: WorkerPaths;
    spec: OciRuntimeSpec;
    rootfs: PreparedRootfs;
    supervisor: Supervisor;
    logWriter: LogWriter;
    notes?: readonly string[];
    init?: boolean;
  }) {
    super();
    this.notes = init.notes ?? [];
    this.init = init.init ?? false;
    this.sandbox = init.sandbox;
    this.definition = init.definition;
    this.name = init.definition.name;
    this.id = init.id;
    this.paths = init.paths;
    this.spec = init.spec;
    this.rootfs = init.rootfs;
    this.supervisor = init.supervisor;
    this.logWriter = init.logWriter;
    this.supervisor.on('state', (s) => this.emit('state', s));
  }

  state(): WorkerState {
    return this.supervisor.state();
  }

  /** Resolves when the worker has exited for good (policy) or was stopped, and its sandbox is gone. */
  async whenDone(): Promise<WorkerState> {
    await this.supervisor.whenSettled();
    await this.release();
    return this.state();
  }

  /** SIGTERM, grace period, SIGKILL; then the container is deleted and the overlay removed. */
  async stop(options: StopOptions = {}): Promise<WorkerState> {
    await this.supervisor.stop({ timeoutMs: options.timeoutMs ?? this.definition.stopTimeoutMs });
    await this.release();
    return this.state();
  }

  /**
   * Changes the memory and CPU limits of the running sandbox in place (the runtime's `update`), same
   * process; later restarts of the container keep the new limits. When the runtime cannot (limits
   * not enforced here, the worker between two runs, the kernel refusing), nothing changes and the
   * reason comes back: the caller restarts the worker instead.
   */
  updateResources(resources: SandboxResources): Promise<ResourceUpdate> {
    return this.sandbox.updateResources(this, resources);
  }

  /** Runs a command inside the worker's sandbox, with the worker's env, cwd and user unless overridden. */
  async exec(req: ExecRequest): Promise<ExecResult> {
    return (await this.startExec(req)).result;
  }

  async startExec(req: ExecRequest): Promise<ExecHandle> {
    // Right after start the worker may already print while its container is still being created.
    if (this.state().status === 'starting') await this.settledFrom('starting');
    if (this.state().status !== 'running') throw new WorkerNotRunningError(this.name);
    return startExec(
      { driver: this.sandbox.driver, id: this.id, base: this.spec.process, runDir: this.paths.run },
      req,
    );
  }

  logs(options?: ReadLogsOptions): AsyncGenerator<LogLine> {
    return readLogs(this.paths.logs, options);
  }

  /** Resolves once the status is no longer `status`. */
  private settledFrom(status: WorkerState['status']): Promise<void> {
    return new Promise((resolve) => {
      const check = (s: WorkerState) => {
        if (s.status === status) return;
        this.off('state', check);
        resolve();
      };
      this.on('state', check);
      check(this.state());
    });
  }

  /**
   * Adds lines to the worker's log beside what it prints (e.g. what it logged through the SDK),
   * through the worker's own writer so rotation stays in one hand. Ignored once it has stopped.
   */
  note(stream: LogStream, text: string): void {
    this.logWriter.note(stream, text);
  }

  private release(): Promise<void> {
    this.released ??= (async () => {
      // Everything the worker printed reaches its log before the worker counts as gone.
      await this.logWriter.close();
      await releaseRootfs(this.paths.rootfsDir);
      await rm(this.paths.run, { recursive: true, force: true });
      this.sandbox.forget(this);
    })();
    return this.released;
  }
}

/**
 * Runs workers in sandboxes: one object per state directory. It prepares each worker's rootfs
 * (overlay), writes its OCI bundle, and supervises it with restarts and logs.
 *
 * ```ts
 * const sandbox = await Sandbox.open({ stateDir: `${iiiHome}/sandbox` });
 * await sandbox.cleanupLeftovers();
 * const w = await sandbox.start({ name: 'resize', imageRootfs, imageConfig, engineUrl: 'ws://127.0.0.1:49134' });
 * for await (const l of w.logs({ tail: 10 })) console.log(l.line);
 * await sandbox.close(); // stops every worker, then disarms the watchdog
 * ```
 */
export class Sandbox {
  readonly stateDir: string;
  readonly driver: RuntimeDriver;
  /** Runtimes tried before the chosen one, with the reason each was not used. */
  readonly skippedRuntimes: DetectedRuntime['skipped'];
  /** Rootful or rootless, and whether cgroup limits are enforced. */
  readonly mode: SandboxMode;
  readonly rootfsSupport: RootfsSupport;
  /** The init each worker gets as PID 1 (unless its entry says `init: false`), or why there is none. */
  readonly init: SandboxInit;
  private readonly options: SandboxOptions;
  private readonly workers = new Map<string, Worker>();
  private readonly starting = new Set<string>();
  private readonly watchdog: Watchdog | undefined;
  private closed = false;

  private constructor(
    options: SandboxOptions,
    detected: DetectedRuntime,
    mode: SandboxMode,
    rootfsSupport: RootfsSupport,
    init: SandboxInit,
    watchdog: Watchdog | undefined,
  ) {
    this.options = options;
    this.init = init;
    this.stateDir = resolve(options.stateDir);
    this.driver = detected.driver;
    this.skippedRuntimes = detected.skipped;
    this.mode = mode;
    this.rootfsSupport = rootfsSupport;
    this.watchdog = watchdog;
  }

  /** Pid of the watchdog process (see {@link SandboxOptions.watchdog}), if there is one. */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  /**
   * Creates the state directory, picks the runtime (probing it by running a container) and starts
   * the watchdog; a watchdog still clearing up after a previous owner that died is waited for.
   * Not as root, sandboxes are rootless: a user namespace maps the caller's ids, and the runtime
   * mounts each worker's overlay inside it (probed too; a copy where the kernel refuses).
   */
  static async open(options: SandboxOptions): Promise<Sandbox> {
    let mode = options.mode ?? (await detectSandboxMode());
    const stateDir = resolve(options.stateDir);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const detect = (ids: SandboxMode['ids']) =>
      detectRuntime({
        stateDir,
        ...(options.runtime ? { preferred: options.runtime } : {}),
        ...(options.strictRuntime ? { strict: true } : {}),
        ...(options.env ? { env: options.env } : {}),
        ...(ids ? { rootless: ids } : {}),
      });
    let detected: DetectedRuntime;
    if (options.driver) detected = { driver: options.driver, skipped: [] };
    else if (mode.ids?.subordinate) {
      // The subordinate ranges need newuidmap/newgidmap to work for this user; without them the
      // sandbox still runs, with the caller's id alone.
      try {
        detected = await detect(mode.ids);
      } catch (err) {
        if (!(err instanceof RuntimeUnavailableError)) throw err;
        const { subordinate: _, ...single } = mode.ids;
        detected = await detect(single);
        const reason = err.attempts.map((a) => a.reason).find(Boolean) ?? err.message;
        mode = { ...mode, ids: single, singleIdReason: `mapping the subordinate ids failed: ${reason}` };
      }
    } else detected = await detect(mode.ids);
    if (mode.ids && mode.cgroupParent) {
      // Limits in a delegated subtree: shown to work by a probe with limits, else workers run without.
      const reason = await probeRuntime(detected.driver, stateDir, {
        rootless: mode.ids,
        cgroupParent: mode.cgroupParent,
      });
      if (reason !== undefined) {
        const { cgroupParent: _, ...rest } = mode;
        mode = {
          ...rest,
          limits: {
            enforced: false,
            reason: `a container with limits in the cgroup subtree delegated to you (${mode.cgroupParent}) failed: ${reason}`,
            hint: 'Check the controllers delegated to your user session (cgroup.subtree_control), or run iii as root',
          },
        };
      }
    }
    let rootfsSupport: RootfsSupport = { kind: options.rootfsMode === 'copy' ? 'copy' : 'overlay' };
    if (mode.ids && options.rootfsMode !== 'copy') {
      const reason = await probeRuntime(detected.driver, stateDir, { rootless: mode.ids, overlay: true });
      if (reason === undefined) rootfsSupport = { kind: 'userns-overlay' };
      else if (options.rootfsMode === 'overlay') {
        throw new SandboxError(
          'OVERLAY_UNAVAILABLE',
          `The runtime cannot mount an overlay in a user namespace here: ${reason}`,
          'Use a kernel >= 5.11, or let the sandbox copy the rootfs (mode "copy"); iii system check shows what this host supports',
        );
      } else rootfsSupport = { kind: 'copy', reason: `overlay in a user namespace failed: ${reason}` };
    } else if (mode.ids) {
      rootfsSupport = { kind: 'copy' };
    }
    const init = await findInit(options.env ?? process.env, options.init);
    await waitForOrphanedWatchdog(stateDir);
    const watchdog =
      options.watchdog === false
        ? undefined
        : await Watchdog.arm({
            stateDir,
            driver: detected.driver,
            ...(options.report ? { report: options.report } : {}),
          });
    return new Sandbox(options, detected, mode, rootfsSupport, init, watchdog);
  }

  paths(name: string): WorkerPaths {
    return workerPaths(this.stateDir, name);
  }

  get(name: string): Worker | undefined {
    return this.workers.get(name);
  }

  list(): Worker[] {
    return [...this.workers.values()];
  }

  /** @internal See {@link Worker.updateResources}. */
  async updateResources(worker: Worker, resources: SandboxResources): Promise<ResourceUpdate> {
    if (!this.mode.limits.enforced) return { inPlace: false, reason: this.mode.limits.reason };
    if (!this.driver.update) {
      return { inPlace: false, reason: `${this.driver.name} cannot change the limits of a running sandbox` };
    }
    if (worker.state().status !== 'running') return { inPlace: false, reason: 'it is not running' };
    const current = worker.spec.linux.resources;
    const host = await (this.options.hostLimits ?? readHostLimits());
    const swap = host.swapLimit ?? true;
    const next = buildResources(resources, current?.pids?.limit, swap, this.mode.ids !== undefined);
    // A limit that is gone from config.yaml is lifted: -1 is "no limit" to the runtime.
    const update = {
      pids: next.pids,
      memory: next.memory ?? (swap ? { limit: -1, swap: -1 } : { limit: -1 }),
      cpu: next.cpu ?? { quota: -1, period: CPU_PERIOD_US },
    };
    try {
      await this.driver.update(worker.id, update);
    } catch (err) {
      const text = (err as { stderr?: string }).stderr || (err as Error).message;
      return {
        inPlace: false,
        reason: text.split('\n').find((l) => l.trim() !== '') ?? 'the runtime refused',
      };
    }
    // The container's next run (a restart after a crash) starts with the new limits too.
    worker.spec.linux.resources = next;
    Object.assign(worker.definition, { resources });
    await writeFile(worker.paths.config, `${JSON.stringify(worker.spec, null, 2)}\n`, { mode: 0o600 });
    return { inPlace: true };
  }

  /** @internal */
  forget(worker: Worker): void {
    if (this.workers.get(worker.name) === worker) this.workers.delete(worker.name);
  }

  /**
   * Removes what a crashed previous run left: containers in our runtime root (killed, deleted)
   * and worker overlays still mounted. Call it before starting workers.
   */
  async cleanupLeftovers(): Promise<LeftoverReport> {
    return removeLeftovers({
      stateDir: this.stateDir,
      drivers: [this.driver],
      keep: new Set([...this.workers.keys(), ...this.starting]),
    });
  }

  /** Prepares the worker's sandbox and starts it under its restart policy. */
  /**
   * Why this sandbox cannot run worker `name` on a stack of image layers (top first), or undefined
   * when it can: workers get copies here (no overlayfs), or the kernel cannot stack that many
   * layers. The caller then gives the merged image rootfs instead.
   */
  stackProblem(name: string, layers: readonly string[]): string | undefined {
    if (this.rootfsSupport.kind === 'copy') {
      return `workers get a copy of their root here (${this.rootfsSupport.reason ?? 'no overlayfs'})`;
    }
    return overlayStackProblem(
      layers,
      workerPaths(this.stateDir, name).rootfsDir,
      this.rootfsSupport.kind === 'userns-overlay',
    );
  }

  async start(def: WorkerDefinition, options: { signal?: AbortSignal } = {}): Promise<Worker> {
    const paths = workerPaths(this.stateDir, def.name);
    if (this.closed) {
      throw new SandboxError('SANDBOX_CLOSED', 'The sandbox is closed', 'Open a new one with Sandbox.open');
    }
    if (this.workers.has(def.name) || this.starting.has(def.name)) {
      throw new SandboxError(
        'WORKER_ALREADY_RUNNING',
        `Worker "${def.name}" is already running`,
        `Stop it first: iii worker stop ${def.name}`,
      );
    }
    this.starting.add(def.name);
    try {
      return await this.startUnlocked(def, paths, options.signal);
    } finally {
      this.starting.delete(def.name);
    }
  }

  private async startUnlocked(
    def: WorkerDefinition,
    paths: WorkerPaths,
    signal?: AbortSignal,
  ): Promise<Worker> {
    const id = containerId(this.stateDir, def.name);
    const enforceLimits = this.mode.limits.enforced;
    // Rootless on a delegated cgroup v2 subtree, workers' cgroups go beside ours, in it.
    const parent = (this.options.cgroupParent ?? this.mode.cgroupParent)?.replace(/\/+$/, '');
    const cgroupsPath = parent === undefined || !enforceLimits ? undefined : `${parent}/${id}`;
    const imageRootfs = resolve(def.imageRootfs);
    const rootless = this.mode.ids;
    const runtimeOverlay = rootless !== undefined && this.rootfsSupport.kind === 'userns-overlay';
    const layers = def.imageLayers?.map((l) => l.path);
    if (layers) {
      const problem = this.stackProblem(def.name, layers);
      if (problem) {
        throw new RootfsError(
          `Cannot stack the layers of worker "${def.name}": ${problem}`,
          'Give the worker its merged image rootfs instead',
        );
      }
    }
    const imageRoot: ImageRoot = def.imageLayers ?? imageRootfs;
    // Layers unpacked rootless are in the user-namespace format (user.overlay.* xattrs).
    const userxattr = layers !== undefined && runtimeOverlay;
    const [passwd, group, hostLimits, hostResolv, hostMounts] = await Promise.all([
      readFileInRoot(imageRoot, '/etc/passwd'),
      readFileInRoot(imageRoot, '/etc/group'),
      this.options.hostLimits ?? readHostLimits(),
      readFile('/etc/resolv.conf', 'utf8').catch(() => undefined),
      rootless ? readMounts() : undefined,
    ]);
    const init = def.init === false ? undefined : this.initFor(hostMounts);
    // Pure part first: a bad USER or missing command fails before anything is mounted.
    const spec = buildSpec({
      imageConfig: def.imageConfig,
      worker: def,
      engineUrl: def.engineUrl,
      ...(def.process ? { process: def.process } : {}),
      rootfs: paths.rootfs,
      hostsFile: paths.hosts,
      resolvFile: paths.resolvConf,
      ...(passwd !== undefined ? { passwd } : {}),
      ...(group !== undefined ? { group } : {}),
      hostLimits,
      ...(cgroupsPath ? { cgroupsPath } : {}),
      ...(rootless ? { rootless } : {}),
      enforceLimits,
      ...(runtimeOverlay
        ? { rootfsOverlay: overlayLayersOf(layers ?? imageRootfs, paths.rootfsDir, userxattr) }
        : {}),
      ...(hostMounts ? { lockedBindFlags: lockedMountFlags(mountOf(hostMounts, paths.dir)) } : {}),
      ...(init && 'path' in init ? { init } : {}),
    });

    await this.driver.delete(id, { force: true });
    await mkdir(paths.bundle, { recursive: true, mode: 0o700 });
    await mkdir(join(paths.dir, 'etc'), { recursive: true });
    await writeFile(paths.hosts, hostsFile(spec.hostname), { mode: 0o644 });
    await writeFile(paths.resolvConf, resolvConf(hostResolv, def.network ?? 'host'), { mode: 0o644 });
    const rootfs = await prepareRootfs({
      image: layers ?? imageRootfs,
      ...(userxattr ? { userxattr } : {}),
      dir: paths.rootfsDir,
      mode: rootless && !runtimeOverlay ? 'copy' : (this.options.rootfsMode ?? 'auto'),
      ...(runtimeOverlay ? { overlayMountedBy: 'runtime' as const } : {}),
      ...(rootless?.subordinate
        ? { copyInUserNamespace: { ...rootless, subordinate: rootless.subordinate } }
        : {}),
      ...(signal ? { signal } : {}),
    });
    try {
      signal?.throwIfAborted();
      await writeFile(paths.config, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o600 });
      // Made now, not with the first line of output: a worker that runs and has printed nothing yet
      // has started all the same (`iii worker logs` tells the two apart by this directory).
      await mkdir(paths.logs, { recursive: true, mode: 0o700 });
      const logWriter = new LogWriter(paths.logs, this.options.logs);
      const supervisor = new Supervisor({
        driver: this.driver,
        id,
        bundle: paths.bundle,
        ...(cgroupsPath ? { cgroupsPath } : {}),
        runDir: paths.run,
        ownCgroup: enforceLimits,
        logs: logWriter,
        ...(def.restart ? { restart: def.restart } : {}),
        ...(def.backoff ? { backoff: def.backoff } : {}),
        ...(def.beforeRestart ? { beforeRestart: def.beforeRestart } : {}),
        ...(this.options.clock ? { clock: this.options.clock } : {}),
      });
      const worker = new Worker({
        sandbox: this,
        definition: def,
        id,
        paths,
        spec,
        rootfs,
        supervisor,
        logWriter,
        init: init !== undefined && 'path' in init,
        notes: [
          ...rootlessNotes(def.imageConfig, spec, rootless),
          ...(init && 'reason' in init
            ? [
                `runs as PID 1 without an init (${init.reason}): unless it handles SIGTERM itself, every stop waits its grace period and ends in SIGKILL. ${init.hint} (init: false on the worker runs it as PID 1 without this note)`,
              ]
            : []),
        ],
      });
      this.workers.set(def.name, worker);
      supervisor.start();
      // A worker that ends for good (exit under its policy) gives its sandbox back by itself;
      // a failure to do so reaches the caller through whenDone() or stop().
      worker.whenDone().catch(() => {});
      return worker;
    } catch (err) {
      await releaseRootfs(paths.rootfsDir);
      throw err;
    }
  }

  /**
   * The init of a worker's spec (its host path and, rootless, the flags its bind must repeat), or
   * why it has none. A binary on a `noexec` mount could not run in the sandbox either.
   */
  private initFor(
    hostMounts: readonly MountEntry[] | undefined,
  ): { path: string; lockedFlags?: string[] } | { reason: string; hint: string } {
    const init = this.init;
    if (!('path' in init)) return init;
    if (!hostMounts) return { path: init.path };
    const lockedFlags = lockedMountFlags(mountOf(hostMounts, init.path));
    if (lockedFlags.includes('noexec')) {
      return {
        reason: `${init.path} is on a noexec mount`,
        hint: `Put ${INIT_BINARY} on a mount that allows executables`,
      };
    }
    return { path: init.path, lockedFlags };
  }

  /** Stops a worker; its container is deleted and overlay removed. */
  async stop(name: string, options: StopOptions = {}): Promise<WorkerState> {
    const w = this.workers.get(name);
    if (!w) throw new WorkerNotRunningError(name);
    return w.stop(options);
  }

  /** Stops the worker and starts it again with the same definition. */
  async restart(name: string, options: StopOptions = {}): Promise<Worker> {
    const w = this.workers.get(name);
    if (!w) throw new WorkerNotRunningError(name);
    await w.stop(options);
    return this.start(w.definition);
  }

  async exec(name: string, req: ExecRequest): Promise<ExecResult> {
    const w = this.workers.get(name);
    if (!w) throw new WorkerNotRunningError(name);
    return w.exec(req);
  }

  /** A worker's logs; works whether or not it runs. */
  logs(name: string, options?: ReadLogsOptions): AsyncGenerator<LogLine> {
    return readLogs(workerPaths(this.stateDir, name).logs, options);
  }

  /** Stops every worker in parallel. */
  async stopAll(options: StopOptions = {}): Promise<void> {
    await Promise.all(this.list().map((w) => w.stop(options)));
  }

  /**
   * Stops every worker (as {@link stopAll}), then disarms the watchdog: the end of a graceful
   * shutdown. Without it, the watchdog stops the workers when this process exits.
   */
  async close(options: StopOptions = {}): Promise<void> {
    this.closed = true;
    await this.stopAll(options);
    await this.watchdog?.disarm();
  }
}

/**
 * What runs differently rootless from what the image asks: a USER outside the mapped ids runs as
 * the sandbox's root (every USER but root with a single-id map), and supplementary groups are not set.
 */
function rootlessNotes(
  imageConfig: SandboxImageConfig,
  spec: OciRuntimeSpec,
  rootless: RootlessIds | undefined,
): string[] {
  const user = imageConfig.config?.User;
  if (!rootless || !user || /^(root|0)(:(root|0))?$/.test(user)) return [];
  if (spec.process.user.uid === 0 && spec.process.user.gid === 0) {
    return [
      rootless.subordinate
        ? `runs as root of its user namespace (you on the host), not as the image's USER "${user}": its ids are beyond your subordinate ids (/etc/subuid, /etc/subgid)`
        : `runs as root of its user namespace (you on the host), not as the image's USER "${user}": without a subordinate id range (/etc/subuid) only your own id is mapped into the sandbox`,
    ];
  }
  return [];
}
