/** Atomic file replacement, as config.yaml and iii.lock are written (from `@iii/base`). */
/** The cross-process lock editConfig takes, and its timeout error (from `@iii/base`). */
export { LockTimeoutError, writeFileAtomic } from '@iii/base';
export {
  type BoundedReadOptions,
  MAX_CONFIG_FILE_BYTES,
  MAX_WORKER_MANIFEST_BYTES,
  readBoundedText,
} from './bounded-read.js';
export { type ConfigPathOptions, lockPathFor, resolveConfigPath } from './config-path.js';
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
  lockEntrySchema,
  lockFileSchema,
  type PreviousPin,
  parseLockFile,
  pinWorker,
  previousPinSchema,
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
  configJsonSchema,
  schemaComment,
  WORKER_SCHEMA_URL,
  workerJsonSchema,
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
  configFileSchema,
  DEFAULT_ENGINE_HOST,
  DEFAULT_ENGINE_PORT,
  DEFAULT_RESTART_POLICY,
  type EngineSettings,
  engineSchema,
  KNOWN_KEYS,
  type NetworkMode,
  networkModeSchema,
  type RestartPolicy,
  resourcesSchema,
  restartPolicySchema,
  sandboxSettingsSchema,
  type WorkerEntry,
  type WorkerResources,
  workerEntrySchema,
  workerNameSchema,
} from './schema.js';
export {
  isSecretKey,
  KEY_QUALIFIERS,
  type MaskEnvOptions,
  maskEnv,
  maskSecrets,
  SECRET_LAST_WORDS,
  scrubSecrets,
} from './secret-keys.js';
export {
  parseWorkerManifest,
  type ReadWorkerManifestResult,
  readWorkerManifest,
  type WorkerManifest,
} from './worker-manifest.js';
export { assertWorkerName, workerNameProblem } from './worker-name.js';
export { MAX_ALIAS_COUNT } from './yaml-aliases.js';
