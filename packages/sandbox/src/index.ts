export { type BackoffOptions, restartDelay, type SandboxRestartPolicy, shouldRestart } from './backoff.js';
export {
  type ContainerCgroup,
  findContainerCgroup,
  locateCgroup,
  readCpuUsageNs,
  readOomKills,
} from './cgroup.js';
export { type Clock, systemClock } from './clock.js';
export {
  InvalidSandboxNameError,
  NoCommandError,
  RootfsError,
  type RuntimeAttempt,
  RuntimeCommandError,
  RuntimeNotFoundError,
  RuntimeUnavailableError,
  SandboxError,
  UnknownUserError,
  WorkerNotRunningError,
} from './errors.js';
export {
  EXEC_TIMEOUT_EXIT_CODE,
  type ExecContext,
  type ExecHandle,
  type ExecRequest,
  type ExecResult,
  exec,
  execProcess,
  startExec,
} from './exec.js';
export { ExecStartError, ExecStderrGate, parseExecStartFailure } from './exec-start-failure.js';
export {
  type CheckHostOptions,
  checkHost,
  type HostCheck,
  type HostCheckItem,
  subordinateRanges,
} from './host-check.js';
export { readHostLimits } from './host-limits.js';
export { findLeftoverCgroups, removeLeftoverCgroups } from './leftover-cgroups.js';
export {
  findLeftovers,
  type LeftoverContainer,
  type LeftoverReport,
  type Leftovers,
  type RemoveLeftoversOptions,
  removeLeftovers,
  workerNameOf,
} from './leftovers.js';
export { DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, logFile } from './logs/files.js';
export { type ReadLogsOptions, readLogs } from './logs/reader.js';
export { formatTime, type LogLine, type LogStream } from './logs/record.js';
export { escapeControlCharacters } from './logs/terminal-text.js';
export { LogWriter, type LogWriterOptions } from './logs/writer.js';
export { assertWorkerName, containerId, type WorkerPaths, workerPaths } from './paths.js';
export { isRunningProcess } from './process-table.js';
export { readFileInRoot } from './root-file.js';
export {
  type PreparedRootfs,
  type PrepareRootfsOptions,
  prepareRootfs,
  type RootfsMode,
  releaseRootfs,
} from './rootfs.js';
export {
  createDriver,
  type DetectedRuntime,
  type DetectRuntimeOptions,
  detectRuntime,
  KNOWN_RUNTIMES,
  probeRuntime,
  /** An executable on `env.PATH` (or a path), if there is one. */
  which,
} from './runtime/detect.js';
export type {
  ContainerState,
  ContainerStatus,
  CreateOptions,
  ExecOptions,
  ExecProcess,
  ExitStatus,
  RunningContainer,
  RunOptions,
  RuntimeDriver,
  StdioOption,
} from './runtime/driver.js';
export { OciCliRuntime, type OciCliRuntimeOptions } from './runtime/oci-cli-runtime.js';
export { driversOfStateDir } from './runtime/state-roots.js';
export type * from './runtime-spec.js';
export {
  type RootfsSupport,
  Sandbox,
  type SandboxOptions,
  Worker,
  type WorkerDefinition,
} from './sandbox.js';
export {
  type CgroupVersion,
  cgroupVersion,
  detectSandboxMode,
  ID_MAP_TOOLS,
  type LimitsSupport,
  limitsSupport,
  parseSubordinateIds,
  rootlessIds,
  type SandboxMode,
} from './sandbox-mode.js';
export {
  type BuildSpecInput,
  buildResources,
  buildSpec,
  CPU_PERIOD_US,
  DEFAULT_CAPABILITIES,
  DEFAULT_PIDS_LIMIT,
  type HostLimits,
  hostIdOf,
  type IdRange,
  idMappings,
  type OverlayLayers,
  type RootlessIds,
  rootlessUserMapped,
  type SandboxImageConfig,
  type SandboxResources,
  type SandboxWorkerEntry,
  type SubordinateIds,
} from './spec.js';
export {
  type ExitEvent,
  type StopOptions,
  Supervisor,
  type SupervisorOptions,
  type WorkerState,
  type WorkerStatus,
} from './supervisor.js';
export { type ResolvedUser, resolveUser } from './user.js';
export {
  applyImageOwners,
  imageOwnersForUnpack,
  inUserNamespace,
  type MappedIds,
  ownMappedIds,
  removeMappedTree,
  runInUserNamespace,
  type UserNamespaceResult,
} from './userns.js';
export { Watchdog, type WatchdogOptions, waitForOrphanedWatchdog } from './watchdog.js';
export { readWatchdogRecord, removeWatchdogRecord, type WatchdogRecord } from './watchdog-record.js';
export {
  buildArgv,
  buildEnv,
  DEFAULT_PATH,
  dialableEngineUrl,
  ENGINE_URL_KEYS,
  type EngineUrlKey,
  envEntries,
  type WorkerAddress,
  type WorkerProcess,
  type WorkerProcessInput,
  workerAddress,
  workerProcess,
} from './worker-process.js';
