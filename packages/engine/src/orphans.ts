/**
 * What a command reads of a project's sandboxes when its `iii` does not run, without the engine:
 * sandboxes a killed `iii` left running, and the workers the user stopped. Importing it loads
 * neither the router, the worker runtime nor `@iii/oci` (only `@iii/sandbox/state`), which is most
 * of the start-up of `iii worker list`.
 *
 * @example
 * import { findOrphanedWorkers } from '@iii/engine/orphans';
 */
export {
  CLEANUP_COMMAND,
  findOrphanedWorkers,
  type OrphanedWorker,
  type OrphanReport,
  type ProjectSandbox,
} from './manager/orphaned-workers.js';
export { readWorkerRunState, type WorkerRunState } from './manager/worker-files.js';
