export type { WorkerAddress, WorkerProcess } from '@iii/sandbox';
export { type ConfigWatch, type WatchConfigOptions, watchConfig } from './config-watcher.js';
export { connectionsHeldBy, type PeerConnection } from './connection-owner.js';
export {
  type CurrentWorker,
  convergeChanges,
  type DesiredWorker,
  describePlanChange,
  formatMemory,
  sameSpec,
  type WorkerChange,
} from './converge.js';
export { parseDuration, parseSince } from './duration.js';
export {
  claimProject,
  type EngineRecord,
  type EngineRecordLocation,
  engineRecordSchema,
  isProcessAlive,
  listEngineRecords,
  type RunningProject,
  readEngineRecord,
  removeEngineRecord,
  writeEngineRecord,
} from './engine-record.js';
export {
  EngineAlreadyRunningError,
  EngineNotRunningError,
  type EngineSource,
  ForbiddenError,
  InvalidEngineUrlError,
  ManagerError,
  MissingTokenError,
  type NotRunningContext,
  UnknownWorkerError,
  WorkerNotLockedError,
  WorkerNotStartedError,
} from './errors.js';
export {
  CLEANUP_COMMAND,
  type CleanupReport,
  cleanupOrphanedWorkers,
  findOrphanedWorkers,
  type OrphanedWorker,
  type OrphanReport,
} from './orphaned-workers.js';
export { type RunningWorkers, type StartWorkersOptions, startWorkers } from './start-workers.js';
export { type StopProgress, stopInParallel } from './stop-in-parallel.js';
export { execInWorker } from './worker-exec.js';
export {
  directoryBytes,
  readWorkerRunState,
  removeWorkerFiles,
  type WorkerRunState,
  workerDir,
  writeWorkerRunState,
} from './worker-files.js';
export type {
  ManagedWorkerStatus,
  ReloadOptions,
  ReloadResult,
  StartOutcome,
  WorkerDetails,
  WorkerInfo,
} from './worker-info.js';
export {
  escapeControlCharacters,
  type LogLine,
  workerHasStarted,
  workerLogs,
  workerLogsDir,
} from './worker-logs.js';
export { WorkerManager, type WorkerManagerOptions } from './worker-manager.js';
export { LockMismatchError, planWorker, type WorkerPlan } from './worker-plan.js';
