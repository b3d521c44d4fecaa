import { IiiError } from '@iii/base';
/** Errors of the worker manager and its control client: a stable `code` and a `hint` for the user. */
export class ManagerError extends IiiError {
  override readonly name: string = 'ManagerError';
}

/** A project whose engine is not running, and what else runs with this `$III_HOME`, for the hint. */
export interface NotRunningContext {
  /** The project's config.yaml. */
  configPath: string;
  /** Projects whose `iii` does run (config path and name). */
  others?: readonly { configPath: string; project?: string | undefined }[];
}

/** No engine runs for the project (or at the URL); the message names the projects whose engine does. */
export class EngineNotRunningError extends ManagerError {
  override readonly name = 'EngineNotRunningError';
  constructor(detail?: string, context?: NotRunningContext) {
    const what = context ? `iii is not running for ${context.configPath}` : 'iii is not running';
    const others = context?.others ?? [];
    super(
      'ENGINE_NOT_RUNNING',
      detail ? `${what} (${detail})` : what,
      others.length > 0
        ? `It runs for ${others.map((o) => (o.project ? `${o.project} (${o.configPath})` : o.configPath)).join(', ')}: pass --config <its config.yaml> (or run the command in its directory) to act on ${others.length === 1 ? 'it' : 'one of them'}, or start this project with \`iii\`.`
        : 'Start it with `iii` (or `iii start`) in another terminal, then try again.',
    );
  }
}

/** `iii start` for a project whose engine already runs. */
export class EngineAlreadyRunningError extends ManagerError {
  override readonly name = 'EngineAlreadyRunningError';
  constructor(pid: number, address: string, configPath?: string) {
    super(
      'ENGINE_ALREADY_RUNNING',
      configPath
        ? `iii is already running for ${configPath} (pid ${pid}, ${address})`
        : `iii is already running with this $III_HOME (pid ${pid}, ${address})`,
      configPath
        ? 'Stop it first (Ctrl-C in its terminal); one iii runs each project, and other projects can run beside it.'
        : 'Stop it first (Ctrl-C in its terminal), or use another $III_HOME.',
    );
  }
}

/** A worker name that config.yaml does not have. */
export class UnknownWorkerError extends ManagerError {
  override readonly name = 'UnknownWorkerError';
  readonly worker: string;
  constructor(worker: string) {
    super(
      'WORKER_NOT_FOUND',
      `no worker named "${worker}" in config.yaml`,
      'See the configured workers with `iii worker list`; add one with `iii worker add <image>`.',
    );
    this.worker = worker;
  }
}

/** A worker config.yaml lists but iii.lock does not pin yet. */
export class WorkerNotLockedError extends ManagerError {
  override readonly name = 'WorkerNotLockedError';
  constructor(worker: string) {
    super(
      'WORKER_NOT_LOCKED',
      `worker "${worker}" has no image digest in iii.lock`,
      `Pin it with \`iii worker add\` (or \`iii worker sync\`), then \`iii worker start ${worker}\`.`,
    );
  }
}

/** A call that needs a running worker (exec, logs follow) for one that is not running. */
export class WorkerNotStartedError extends ManagerError {
  override readonly name = 'WorkerNotStartedError';
  constructor(worker: string, status: string) {
    super(
      'WORKER_NOT_RUNNING',
      `worker "${worker}" is not running (${status})`,
      `Start it with \`iii worker start ${worker}\`.`,
    );
  }
}

/** Where the control client's address and token came from, for errors that say what to fix. */
export type EngineSource = 'record' | 'url';

/** The engine refused a management call: the client did not prove it is the owner. */
export class ForbiddenError extends ManagerError {
  override readonly name = 'ForbiddenError';
  constructor(address: string, source: EngineSource, presented: boolean) {
    super(
      'FORBIDDEN',
      source === 'url'
        ? presented
          ? `the engine at ${address} refused the token in III_TOKEN`
          : `the engine at ${address} manages workers for its owner only, and no token was presented`
        : `the engine at ${address} refused the token of its project's engine.json`,
      source === 'url'
        ? 'Set III_TOKEN to the "token" of that project\'s engine.json on the machine that runs it (`iii ls --json` there shows where it is; it changes at each start).'
        : 'Run the command as the user who started `iii`, with the same $III_HOME.',
    );
  }
}

/** `--engine-url` (or `$III_CLI_ENGINE_URL`) without a token to present. */
export class MissingTokenError extends ManagerError {
  override readonly name = 'MissingTokenError';
  constructor(address: string) {
    super(
      'TOKEN_REQUIRED',
      `managing the engine at ${address} needs its management token`,
      'Set III_TOKEN to the "token" of that project\'s engine.json on the machine that runs it (`iii ls --json` there shows where it is).',
    );
  }
}

/** An `--engine-url` that is not a WebSocket address. */
export class InvalidEngineUrlError extends ManagerError {
  override readonly name = 'InvalidEngineUrlError';
  constructor(url: string) {
    super(
      'INVALID_ENGINE_URL',
      `"${url}" is not an engine address`,
      'Give a WebSocket address such as ws://10.0.0.5:49134 (wss:// behind a TLS proxy).',
    );
  }
}
