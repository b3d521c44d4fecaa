/**
 * @iii/export: a project's config.yaml and iii.lock as a Docker Compose file or Kubernetes manifests
 * (`iii export`): plan what to export, render it, write it.
 */
export {
  type ComposeExport,
  type ComposeFile,
  type ComposeService,
  composeExport,
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
} from './kubernetes.js';
export {
  composeFiles,
  type ExportFile,
  joinFiles,
  kubernetesFiles,
  writeExport,
} from './output.js';
export {
  type ExportPlan,
  type ExportTarget,
  type PlanExportOptions,
  planExport,
  type SecretKey,
} from './plan.js';
export type { EnvSource, ExportedWorker } from './worker-plan.js';
