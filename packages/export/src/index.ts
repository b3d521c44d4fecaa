export {
  type ComposeExport,
  type ComposeFile,
  type ComposeService,
  composeExport,
  composeTemplate,
} from './compose.js';
export {
  ExportError,
  ImageNotInStoreError,
  InvalidEngineUrlError,
  LocalImagesError,
  NameCollisionError,
  NoEngineError,
  OutputError,
  UnmappableKeyError,
  UnmappableNameError,
} from './errors.js';
export {
  type KubernetesExport,
  type KubernetesObject,
  type KubernetesSecret,
  kubernetesExport,
  kubernetesResources,
  shellWord,
} from './kubernetes.js';
export { ENGINE_NAME, objectName, objectNames } from './names.js';
export {
  composeFiles,
  type ExportFile,
  joinFiles,
  kubernetesFiles,
  toYaml,
  writeExport,
} from './output.js';
export {
  ENGINE_CONTAINER_PORT,
  type ExportPlan,
  type ExportTarget,
  type PlanExportOptions,
  planExport,
  type SecretKey,
  secretKeysOf,
} from './plan.js';
export {
  type EnvSource,
  type ExportedWorker,
  type PlanWorkerInput,
  planExportedWorker,
} from './worker-plan.js';
