import type {
  ReloadOptions,
  ReloadResult,
  StartOutcome,
  WorkerDetails,
  WorkerInfo,
} from '../manager/worker-info.js';

/** What the `iii::workers::*` built-ins act on: the worker manager of the running `iii`. */
export interface WorkerController {
  list(): Promise<WorkerInfo[]>;
  /** Environment values filled from `${VAR}` are shown as written unless `reveal`. */
  inspect(name: string, options?: { reveal?: boolean }): Promise<WorkerDetails>;
  /** Starts it unless it already runs (then `started` is false and nothing changes). */
  start(name: string): Promise<StartOutcome>;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 10 s); the worker stays stopped. */
  stop(name: string, options?: { timeoutMs?: number }): Promise<WorkerInfo>;
  restart(name: string, options?: { timeoutMs?: number }): Promise<WorkerInfo>;
  /** Applies config.yaml and iii.lock as they are now to the workers whose spec changed. */
  reload(options?: ReloadOptions): Promise<ReloadResult>;
}
