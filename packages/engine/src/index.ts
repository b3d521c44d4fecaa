/**
 * @iii/engine: the iii engine's WebSocket router for workers and functions, with its built-in functions,
 * and the worker manager that runs a project's workers in sandboxes. A tool that only needs to find and
 * call the running engine imports `@iii/engine/client` instead, which loads none of this.
 */

// What this host gives worker sandboxes (`iii system check`); the CLI reaches the sandbox only through the engine.
export { checkHost, type HostCheck, type HostCheckItem } from '@iii/sandbox';

// --- The engine ---------------------------------------------------------------------------------

export { type BuiltinContext, type BuiltinDefinition, BuiltinError, type BuiltinHandler } from './builtin.js';
export type { FunctionListEntry } from './builtins/function-builtins.js';
export type { WorkerListEntry } from './builtins/worker-builtins.js';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_PEER,
} from './connection-guard.js';
export type { LogOrigin, LogSink, WorkerLogLevel } from './log-sink.js';
export { bearerToken, createManagementToken, tokenMatches } from './management-token.js';
export { type OtelLogRecord, parseOtelLogs } from './otel-logs.js';
export { isOwner, type Peer } from './peer.js';
export { type ConnectionInfo, type Engine, type EngineOptions, startEngine } from './start-engine.js';
export type { WorkerConnection, WorkerMetadata } from './worker-connection.js';

// --- Calling the running engine (also in `@iii/engine/client`) ---------------------------------

export {
  type ConnectEngineOptions,
  connectEngine,
  EngineControlClient,
  type EngineTarget,
  engineNotRunning,
  findEngine,
  imagesInUse,
  type ProjectInUse,
  runningWorkerDetails,
  type StopRunningWorkersOptions,
  stopRunningWorker,
  stopRunningWorkers,
} from './control/engine-client.js';
export { WorkerFunctions } from './control/worker-functions.js';

// --- The worker manager: running a project's workers --------------------------------------------

export {
  CLEANUP_COMMAND,
  type CleanupReport,
  claimProject,
  cleanupOrphanedWorkers,
  EngineAlreadyRunningError,
  EngineNotRunningError,
  type EngineRecord,
  type EngineSource,
  escapeControlCharacters,
  execInWorker,
  ForbiddenError,
  findOrphanedWorkers,
  InvalidEngineUrlError,
  LockMismatchError,
  type LogLine,
  listEngineRecords,
  type ManagedWorkerStatus,
  ManagerError,
  MissingTokenError,
  type OrphanedWorker,
  type OrphanReport,
  parseDuration,
  parseSince,
  planWorker,
  type RunningProject,
  type RunningWorkers,
  readEngineRecord,
  readWorkerRunState,
  removeEngineRecord,
  removeWorkerFiles,
  type StartOutcome,
  type StartWorkersOptions,
  type StopProgress,
  startWorkers,
  UnknownWorkerError,
  type WorkerAddress,
  type WorkerDetails,
  type WorkerInfo,
  WorkerManager,
  type WorkerManagerOptions,
  WorkerNotLockedError,
  WorkerNotStartedError,
  type WorkerPlan,
  type WorkerProcess,
  type WorkerRunState,
  workerDir,
  workerHasStarted,
  workerLogs,
  workerLogsDir,
} from './manager/index.js';
