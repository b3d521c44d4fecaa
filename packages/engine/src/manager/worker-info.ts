import type { WorkerChange } from './converge.js';

/**
 * What `iii worker list` shows of a worker; `not started` means it never ran in this `iii`;
 * `orphaned` that its sandbox still runs although no `iii` does (see `findOrphanedWorkers`).
 */
export type ManagedWorkerStatus =
  | 'not started'
  | 'starting'
  | 'running'
  | 'restarting'
  | 'exited'
  | 'stopped'
  | 'disabled'
  | 'orphaned';

/** One worker of the running `iii`, as the `iii::workers::list` built-in returns it. */
export interface WorkerInfo {
  name: string;
  /** The image reference as written in config.yaml. */
  image: string;
  /** The locked manifest digest it runs (absent when it is not locked). */
  digest?: string;
  /**
   * Set while it runs another image than iii.lock pins now (after `iii worker update` or
   * `add --force`): the pinned digest, which `iii worker restart <name>` switches it to.
   */
  pinnedDigest?: string;
  status: ManagedWorkerStatus;
  /** Host pid of the sandbox's init process while it runs. */
  pid?: number;
  /** When the current run began (RFC 3339). */
  startedAt?: string;
  uptimeMs?: number;
  restarts: number;
  lastExitCode?: number;
  /** Whether the last exit was an OOM kill. */
  oomKilled?: boolean;
  /** While `restarting`: when the next start is due (RFC 3339). */
  nextRestartAt?: string;
  /**
   * The last lines the worker printed (both streams, oldest first): in a list only for a worker that
   * is restarting or has exited, so a crash loop shows its reason.
   */
  lastOutput?: string[];
  /**
   * When `iii worker stop` stopped it (RFC 3339): it stays stopped, also when `iii` starts again,
   * until `iii worker start`.
   */
  stoppedAt?: string;
  /**
   * While it runs: config.yaml or iii.lock now plan it differently from how it runs (`iii` watches
   * them and applies such changes; with the watch off, `iii reload` does).
   */
  configChanged?: boolean;
  /** Why it is not running when it could not start (bad interpolation, image missing, sandbox error). */
  error?: string;
  /**
   * While its sandbox runs: whether one of its processes holds a connection to the engine. A worker
   * that runs but is not connected cannot be called (wrong engine address, stuck start-up, crash loop
   * inside the process).
   */
  connected?: boolean;
  /** When the connection it holds (the oldest, if several) was opened (RFC 3339). */
  connectedSince?: string;
  /** The engine's id of that connection (its `worker_id` in `engine::workers::list`). */
  connectionId?: string;
}

/** The answer to a start: the worker, and whether this call started it. */
export interface StartOutcome {
  worker: WorkerInfo;
  /** False when it was already running (or restarting): nothing was done. */
  started: boolean;
  /**
   * Set when it was already running an image other than the one iii.lock pins now (e.g. after
   * `iii worker add --force`): the pinned digest, which only a restart switches to.
   */
  pinnedDigest?: string;
}

/** Everything the manager knows about a worker: the `iii::workers::inspect` answer. */
export interface WorkerDetails extends WorkerInfo {
  restartPolicy: string;
  network: string;
  /**
   * Whether an init (tini) runs as PID 1 of its sandbox with the worker below it: as config.yaml
   * asks (`init:`, default true), or as it runs (false where the host has no init binary).
   */
  init: boolean;
  resources: { cpus?: number; memory?: number };
  /** Entrypoint + cmd as run (with `--url` patched). */
  argv?: string[];
  /** Environment as run; values of keys that look secret are masked. */
  env?: Record<string, string>;
  /** The cached read-only image rootfs and the worker's own root. */
  imageRootfs?: string;
  rootfs?: string;
  runtime?: string;
  /** How the running `iii` sandboxes workers: rootful or rootless, and whether limits apply. */
  sandbox?: {
    mode: 'rootful' | 'rootless';
    /**
     * Rootless: `subordinate` (root is the user, ids 1 and up its /etc/subuid range, so the image's
     * USER and owners exist) or `single` (only root is mapped).
     */
    idMap?: 'single' | 'subordinate';
    /** `overlay` (mounted by iii), `userns-overlay` (mounted by the runtime in the user namespace) or `copy`. */
    rootfs: string;
    limitsEnforced: boolean;
    /** Why limits are not enforced. */
    limitsNote?: string;
  };
  containerId?: string;
  logDir: string;
}

/** What a reload did, for `iii reload` and `iii worker add` (the same lines `iii` prints). */
export interface ReloadResult {
  /** False when config.yaml or iii.lock could not be applied: nothing running was changed. */
  applied: boolean;
  /** One line per worker changed, or the problems that stopped the reload. */
  lines: string[];
  changes: WorkerChange[];
}

/** Options of {@link WorkerManager.reload}. */
export interface ReloadOptions {
  /** Only these workers (`iii worker add` starts the one it added, whatever else was edited). */
  only?: readonly string[];
}
