/**
 * `@iii/engine/client`: what a tool needs to find the running `iii` engine and call it, without loading
 * the engine itself (router, worker manager, sandbox). The `iii` CLI's worker commands use it.
 *
 * ```ts
 * import { connectEngine } from '@iii/engine/client';
 * const engine = await connectEngine({ project: projectPaths({ home: iiiPaths().home, configPath: 'config.yaml' }) });
 * try {
 *   console.log(await engine.list());
 * } finally {
 *   await engine.close();
 * }
 * ```
 */

/** Where and how to reach an engine: `$III_HOME`, or a URL with its token, and the call timeout. */
/** The engine `findEngine` found: its address, token and whether it came from the record or a URL. */
/** Options of `stopRunningWorkers`: the names, the grace period, progress callbacks. */
export type {
  ConnectEngineOptions,
  EngineTarget,
  StopRunningWorkersOptions,
} from './control/engine-client.js';
/** Connects as the owner of the running engine: the local one of `$III_HOME/run/engine.json`, or one at a URL. */
/** A connection to the running engine's worker built-ins: list, inspect, start, stop, restart. */
/** The error for a project whose engine does not run, naming the projects whose engine does. */
/** The engine to talk to, if one runs (or was named by URL); undefined when none does. */
/** One worker's details from the running engine, or undefined when no engine runs. */
/** Stops one worker through the running engine, if one runs. */
/** Stops several workers through the running engine at once, reporting each as it stops. */
export {
  connectEngine,
  EngineControlClient,
  engineNotRunning,
  findEngine,
  runningWorkerDetails,
  stopRunningWorker,
  stopRunningWorkers,
} from './control/engine-client.js';
/** Ids of the engine's worker built-ins (`iii::workers::*`). */
export { WorkerFunctions } from './control/worker-functions.js';
/** `500ms`, `10s`, `2m`, `1h` in milliseconds; a clear error for anything else. */
/** A `--since` value (a duration ago, or an RFC 3339 time) as a Date. */
export { parseDuration, parseSince } from './manager/duration.js';
/** The running engine's record (`engine.json` of its project): pid, address, config, token. */
export type { EngineRecord } from './manager/engine-record.js';
/** Reads a project's `engine.json`: the record if its process is alive, else undefined. */
export { readEngineRecord } from './manager/engine-record.js';
/** Whether the engine came from `$III_HOME/run/engine.json` or from a URL (for error hints). */
export type { EngineSource } from './manager/errors.js';
/** Errors of finding and calling the engine, each with a `code` and a `hint`. */
export {
  EngineAlreadyRunningError,
  EngineNotRunningError,
  ForbiddenError,
  InvalidEngineUrlError,
  ManagerError,
  MissingTokenError,
  UnknownWorkerError,
  WorkerNotLockedError,
  WorkerNotStartedError,
} from './manager/errors.js';
/** Progress of stopping several workers: which stopped, which are still awaited. */
export type { StopProgress } from './manager/stop-in-parallel.js';
/** A worker as the running engine reports it (`list`), its details (`inspect`), and its status. */
export type {
  ManagedWorkerStatus,
  ReloadResult,
  StartOutcome,
  WorkerDetails,
  WorkerInfo,
} from './manager/worker-info.js';
