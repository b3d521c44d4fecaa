/**
 * @iii/base: the building blocks every iii package shares, one implementation each. A leaf: it
 * imports nothing of the project.
 */

export {
  /** Replaces a file so readers see the old or the new content, never a torn one (fsync, rename, fsync dir). */
  writeFileAtomic,
} from './atomic-write.js';
/** Base class of the packages' errors: a stable `code` and a `hint` for the user. */
export { IiiError } from './errors.js';
export {
  /** Takes a cross-process lock file and returns its release function. */
  acquireFileLock,
  /** Options of {@link acquireFileLock}: timeout, the hint shown on timeout, abort signal. */
  type FileLockOptions,
  /** Whether a live (or recently active) holder has a lock file now. */
  isFileLockHeld,
  /** How old an unrefreshed lock file must be before it is abandoned. */
  LOCK_STALE_MS,
  /** Thrown when a live holder keeps a lock longer than the caller wanted to wait. */
  LockTimeoutError,
  /** Runs a function holding a cross-process lock file; a dead or silent holder's lock is taken over. */
  withFileLock,
} from './file-lock.js';
/** Whether a process with this pid exists. */
export { isProcessAlive } from './process-alive.js';
/** zod's parse options for a document validated once: no per-schema code generation. */
export { READ_ONCE } from './read-once.js';

export {
  /** Longest worker name. */
  MAX_WORKER_NAME_LENGTH,
  /** Why a string cannot name a worker, or undefined: the one worker-name rule. */
  workerNameProblem,
} from './worker-name.js';
