/**
 * @iii/config: the project's config.yaml and iii.lock (read, edit with comments kept, pin, verify),
 * where iii keeps its files, and the rules for worker names, resources and secrets.
 */
/** Atomic file replacement, as config.yaml and iii.lock are written, and the lock's timeout error (from `@iii/base`). */
export { LockTimeoutError, writeFileAtomic } from '@iii/base';
export { type ConfigPathOptions, resolveConfigPath } from './config-path.js';
export {
  acquireConfigLock,
  type ConfigState,
  configLockPath,
  type EditConfigOptions,
  type EditResult,
  editConfig,
  loadConfig,
  onConfigWarning,
  readConfigDocument,
} from './config-store.js';
export { ConfigDocument, type ConfigWarning, type WorkerEntryInput } from './document.js';
export {
  ConfigError,
  ConfigNotFoundError,
  ConfigParseError,
  FileTooLargeError,
  ImageEnvLimitError,
  InterpolationError,
  InvalidResourceError,
  InvalidWorkerNameError,
  WorkerExistsError,
  WorkerNotFoundError,
} from './errors.js';
export { type FlatConfig, type FlattenOptions, flattenConfig, flattenConfigWithOrigins } from './flatten.js';
export {
  carryOverRenamedPins,
  dropUnconfiguredPins,
  emptyLockFile,
  type LockEntry,
  type LockFile,
  type LockProblem,
  type LockProblemKind,
  type PreviousPin,
  parseLockFile,
  pinWorker,
  readLockFile,
  renamePin,
  renderLockFile,
  unpinWorker,
  type VerifyLockOptions,
  verifyLock,
} from './iii-lock.js';
export {
  escapeInterpolation,
  type InterpolateContext,
  type InterpolationPart,
  interpolate,
  interpolationParts,
} from './interpolate.js';
export {
  CONFIG_SCHEMA_URL,
  WORKER_SCHEMA_URL,
} from './json-schema.js';
export {
  type KnownProject,
  knownProjects,
  type ProjectPins,
  pinsOfKnownProjects,
  rememberProject,
} from './known-projects.js';
export {
  ensureHome,
  type IiiPaths,
  iiiPaths,
  type PathsOptions,
} from './paths.js';
export {
  type ProjectOptions,
  type ProjectPaths,
  projectNameOf,
  projectNameProblem,
  projectPaths,
  projectsDir,
  realConfigPath,
} from './project.js';
export { formatBytes, parseCpus, parseMemory } from './resources.js';
export {
  type ConfigFile,
  DEFAULT_ENGINE_HOST,
  DEFAULT_ENGINE_PORT,
  DEFAULT_RESTART_POLICY,
  type EngineSettings,
  type NetworkMode,
  type RestartPolicy,
  type WorkerEntry,
  type WorkerResources,
} from './schema.js';
export {
  isSecretKey,
  type MaskEnvOptions,
  maskEnv,
  maskSecrets,
  scrubSecrets,
} from './secret-keys.js';
export {
  parseWorkerManifest,
  type ReadWorkerManifestResult,
  readWorkerManifest,
  type WorkerManifest,
} from './worker-manifest.js';
export { assertWorkerName, workerNameProblem } from './worker-name.js';
