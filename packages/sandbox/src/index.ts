/**
 * @iii/sandbox: runs a worker's process in an OCI runtime sandbox (runc, crun, youki), rootless or as
 * root: the runtime spec, the root filesystem, supervision with restarts, exec, logs, leftovers, and
 * what the host supports.
 */
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
export { ExecStartError } from './exec-start-failure.js';
export {
  checkHost,
  type HostCheck,
  type HostCheckItem,
} from './host-check.js';
export { readHostLimits } from './host-limits.js';
export {
  findInit,
  INIT_BINARY,
  INIT_INSTALL_HINT,
  INIT_PATH_IN_SANDBOX,
  type SandboxInit,
} from './init.js';
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
export { type ReadLogsOptions, readLogs } from './logs/reader.js';
export type { LogLine, LogStream } from './logs/record.js';
export { escapeControlCharacters } from './logs/terminal-text.js';
export { LogWriter, type LogWriterOptions } from './logs/writer.js';
export { assertWorkerName, containerId, type WorkerPaths, workerPaths } from './paths.js';
export { isRunningProcess } from './process-table.js';
export { findInLayers, type ImageLayer, type ImageRoot, readFileInRoot } from './root-file.js';
export {
  OVERLAY_MAX_LOWERS,
  overlayStackProblem,
  type PreparedRootfs,
  type PrepareRootfsOptions,
  prepareRootfs,
  type RootfsMode,
  releaseRootfs,
} from './rootfs.js';
export {
  createDriver,
  type DetectedRuntime,
  detectRuntime,
  KNOWN_RUNTIMES,
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
export { driversOfStateDir } from './runtime/state-roots.js';
export type {
  OciCapabilities,
  OciDeviceRule,
  OciIdMapping,
  OciLinux,
  OciMount,
  OciNamespace,
  OciProcess,
  OciResources,
  OciRlimit,
  OciRuntimeSpec,
  OciUser,
} from './runtime-spec.js';
export {
  type ResourceUpdate,
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
  type LimitsSupport,
  limitsSupport,
  type SandboxMode,
} from './sandbox-mode.js';
export {
  type BuildSpecInput,
  buildSpec,
  type SandboxImageConfig,
  type SandboxResources,
  type SandboxWorkerEntry,
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
  imageOwnersForUnpack,
  removeMappedTree,
} from './userns.js';
export { Watchdog, waitForOrphanedWatchdog } from './watchdog.js';
export { readWatchdogRecord, removeWatchdogRecord, type WatchdogRecord } from './watchdog-record.js';
export {
  type WorkerAddress,
  type WorkerProcess,
  type WorkerProcessInput,
  workerAddress,
  workerProcess,
} from './worker-process.js';
