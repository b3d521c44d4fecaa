/**
 * The sandboxes' state on disk, without the runtime that starts them: what a process that only
 * reads or clears that state needs (`iii worker list` looking for sandboxes a killed `iii` left
 * running). Importing it does not load the runtime, the image store or `@iii/oci`, so it costs a
 * short-lived command a fraction of `import('@iii/sandbox')`.
 *
 * @example
 * import { findLeftovers, driversOfStateDir } from '@iii/sandbox/state';
 */
export { findLeftovers, type LeftoverReport, removeLeftovers } from './leftovers.js';
export { type WorkerPaths, workerPaths } from './paths.js';
export { isRunningProcess } from './process-table.js';
export { releaseRootfs } from './rootfs.js';
export { driversOfStateDir } from './runtime/state-roots.js';
export { readWatchdogRecord, removeWatchdogRecord, type WatchdogRecord } from './watchdog-record.js';
