import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { OciProcess } from '../runtime-spec.js';

/** The state of a container as the OCI runtime reports it. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** A container as the OCI runtime's `state` reports it: id, init pid, status and bundle. */
export interface ContainerState {
  id: string;
  /** Host pid of the container's init process; 0 once it has stopped. */
  pid: number;
  status: ContainerStatus;
  bundle: string;
}

/** How a container's init (or an exec'd process) ended. */
export interface ExitStatus {
  /** Exit code as a shell reports it: 128 + signal number when killed by a signal. */
  exitCode: number;
}

/** A container running in the foreground under the runtime process (`runc run`). */
export interface RunningContainer {
  /** The runtime process; the container's stdout/stderr flow through its pipes. */
  readonly child: ChildProcess;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the container's init has exited (the runtime returns its status). */
  readonly exited: Promise<ExitStatus>;
}

/** What a container process's stdin, stdout or stderr is connected to (as in `child_process`). */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number;

/** Options of {@link RuntimeDriver.run}: the pid file, and whether to keep the stopped container. */
export interface RunOptions {
  /** File the runtime writes the container init's host pid to. */
  pidFile: string;
  /** Keep the stopped container (and its cgroup) until `delete`, so exit counters can be read. */
  keep?: boolean;
}

/** Options of {@link RuntimeDriver.exec}: stdio and the pid file. */
export interface ExecOptions {
  stdin?: StdioOption;
  stdout?: StdioOption;
  stderr?: StdioOption;
  /** File the runtime writes the exec'd process's host pid to. */
  pidFile: string;
}

/** A process started in a container: the runtime's child process, its stdio and its exit. */
export interface ExecProcess {
  readonly child: ChildProcess;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exited: Promise<ExitStatus>;
}

/** Options of {@link RuntimeDriver.create}: the pid file and the container init's stdio. */
export interface CreateOptions {
  pidFile: string;
  /** File descriptors (or 'ignore') the container init gets as stdin, stdout, stderr; they outlive the runtime. */
  stdio?: [StdioOption, StdioOption, StdioOption];
}

/**
 * One OCI runtime (runc, crun) behind the operations the sandbox needs. Every driver keeps its
 * state in a private `--root`, so containers left by a crash are found there and removed.
 */
export interface RuntimeDriver {
  readonly name: string;
  /** Absolute path of the runtime binary. */
  readonly binary: string;
  /** The runtime's private state directory (`--root`). */
  readonly root: string;
  /** Whether `run` can keep a stopped container until `delete` (runc `--keep`). */
  readonly canKeep: boolean;
  /** Runs the bundle's container in the foreground; the runtime process lives as long as the container. */
  run(id: string, bundle: string, options: RunOptions): RunningContainer;
  /** Creates the container without starting its process (detached: no exit status is observable). */
  create(id: string, bundle: string, options: CreateOptions): Promise<void>;
  start(id: string): Promise<void>;
  /** The container's state, or undefined if the runtime does not know it. */
  state(id: string): Promise<ContainerState | undefined>;
  /** Sends a signal to the container's init; false if it was not running. */
  kill(id: string, signal: NodeJS.Signals | number, options?: { all?: boolean }): Promise<boolean>;
  /** Deletes the container; absent containers are not an error. */
  delete(id: string, options?: { force?: boolean }): Promise<void>;
  /** Runs another process inside a running container. */
  exec(id: string, process: OciProcess, options: ExecOptions): Promise<ExecProcess>;
  /** Containers in this driver's root. */
  list(): Promise<ContainerState[]>;
  /**
   * Changes the cgroup limits of a running container (`runc update --resources`): `resources` is
   * the runtime spec's `linux.resources` object (memory, cpu, pids). Optional: a driver without it
   * cannot change limits in place.
   */
  update?(id: string, resources: Record<string, unknown>): Promise<void>;
}
