import { IiiError } from '@iii/base';

/**
 * Errors of the sandbox. Each has a stable `code` for programs and a `hint` for the user,
 * so the CLI can render any of them in one place.
 */
export class SandboxError extends IiiError {}

/** No OCI runtime binary (runc, crun) was found on PATH. */
export class RuntimeNotFoundError extends SandboxError {
  constructor(names: readonly string[]) {
    super(
      'RUNTIME_NOT_FOUND',
      `No OCI runtime found on PATH (looked for ${names.join(', ')})`,
      'Install one, for example: apt-get install runc (or crun), or set III_RUNTIME to a runtime on PATH',
    );
  }
}

/** Runtimes were found, but none of them could start a container on this machine. */
export class RuntimeUnavailableError extends SandboxError {
  readonly attempts: readonly RuntimeAttempt[];

  constructor(attempts: readonly RuntimeAttempt[]) {
    super(
      'RUNTIME_UNAVAILABLE',
      `No OCI runtime can start containers here: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`,
      'Run `iii system check` to see which part this host lacks (runtime, user namespaces, cgroups); apt-get install runc',
    );
    this.attempts = attempts;
  }
}

/** A runtime that was tried and could not be used, and why. */
export interface RuntimeAttempt {
  name: string;
  reason: string;
}

/** A runtime command (create, kill, delete, ...) failed. */
export class RuntimeCommandError extends SandboxError {
  readonly exitCode: number | undefined;
  readonly stderr: string;

  constructor(runtime: string, args: readonly string[], exitCode: number | undefined, stderr: string) {
    super(
      'RUNTIME_COMMAND_FAILED',
      `${runtime} ${args.join(' ')} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no output'}`,
      `Run the same ${runtime} command by hand to see details; leftover containers are removed at the next start`,
    );
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** The image's USER names a user or group the rootfs does not define. */
export class UnknownUserError extends SandboxError {
  constructor(user: string, what: 'user' | 'group') {
    super(
      'UNKNOWN_USER',
      `The image's USER "${user}" names a ${what} that is not in the image's /etc/${what === 'user' ? 'passwd' : 'group'}`,
      'Use a numeric uid[:gid] in the Dockerfile USER line, or add the user to the image',
    );
  }
}

/** The image config yields nothing to run. */
export class NoCommandError extends SandboxError {
  constructor(worker: string) {
    super(
      'NO_COMMAND',
      `Worker "${worker}" has no command: the image defines neither ENTRYPOINT nor CMD`,
      'Add an ENTRYPOINT or CMD to the image Dockerfile and rebuild it',
    );
  }
}

/** Preparing the worker's root filesystem failed. */
export class RootfsError extends SandboxError {
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super('ROOTFS_FAILED', message, hint, options);
  }
}

/** An operation names a worker the sandbox does not run. */
export class WorkerNotRunningError extends SandboxError {
  constructor(name: string) {
    super(
      'WORKER_NOT_RUNNING',
      `Worker "${name}" is not running`,
      `Start it first: iii worker start ${name}`,
    );
  }
}

/** A worker name is not safe to use as a directory and container name. */
export class InvalidSandboxNameError extends SandboxError {
  constructor(name: string) {
    super(
      'INVALID_WORKER_NAME',
      `Invalid worker name "${name}"`,
      'Use letters, digits, ".", "_" and "-" only, without a leading dot or ".."',
    );
  }
}
