import { IiiError } from '@iii/base';

/**
 * Every error of this package carries a stable `code` (for programs) and a `hint` (for people),
 * so a CLI can render any of them as one line of what went wrong and one line of what to do.
 */
export class ConfigError extends IiiError {}

/** A file that is not valid YAML, or whose content does not match the schema. */
export class ConfigParseError extends ConfigError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(file: string, line: number, column: number, reason: string, hint?: string) {
    super(
      'CONFIG_PARSE',
      `${file}:${line}:${column}: ${reason}`,
      hint ?? `Fix ${file} at line ${line}, column ${column}; it was left unchanged.`,
    );
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** A worker name that breaks the worker-name rule. */
export class InvalidWorkerNameError extends ConfigError {
  readonly workerName: string;

  constructor(name: string, reason: string) {
    super(
      'INVALID_WORKER_NAME',
      `invalid worker name "${name}": ${reason}`,
      'Use letters, digits, ".", "_" and "-" (not starting with "." and without ".."), e.g. --name my-worker.',
    );
    this.workerName = name;
  }
}

/** A worker name the config file does not have. */
export class WorkerNotFoundError extends ConfigError {
  readonly workerName: string;

  constructor(name: string, file: string) {
    super(
      'WORKER_NOT_FOUND',
      `no worker named "${name}" in ${file}`,
      'List the workers with `iii worker list`.',
    );
    this.workerName = name;
  }
}

/** No config.yaml where one was looked for. */
export class ConfigNotFoundError extends ConfigError {
  readonly file: string;

  constructor(file: string) {
    super(
      'CONFIG_NOT_FOUND',
      `no config found at ${file}`,
      'Add a worker with `iii worker add <image>` to create it, or point to one with --config or $III_CONFIG_PATH.',
    );
    this.file = file;
  }
}

/** A `${VAR}` in a worker's `config:` with no value in the environment and no default. */
export class InterpolationError extends ConfigError {
  readonly worker: string;
  readonly key: string;
  readonly variable: string;

  constructor(worker: string, key: string, variable: string) {
    super(
      'INTERPOLATION',
      `worker "${worker}": config key ${key} uses \${${variable}}, which is not set`,
      `Set ${variable} in the environment of iii, or give a default with \${${variable}:default}.`,
    );
    this.worker = worker;
    this.key = key;
    this.variable = variable;
  }
}

/** A `memory` or `cpus` value that cannot be read. */
export class InvalidResourceError extends ConfigError {
  constructor(what: 'memory' | 'cpus', value: unknown) {
    super(
      'INVALID_RESOURCE',
      `invalid ${what} value ${JSON.stringify(value)}`,
      what === 'memory'
        ? 'Use bytes or a number with Ki, Mi, Gi, Ti (powers of 1024) or K, M, G, T (powers of 1000), e.g. 256Mi.'
        : 'Use a positive number of CPUs such as 0.5 or 2, or millicores such as 500m.',
    );
  }
}

/** `iii worker add` found a worker of that name that runs another image. */
export class WorkerExistsError extends ConfigError {
  readonly workerName: string;
  /** The image the existing entry runs. */
  readonly image: string;

  constructor(name: string, image: string) {
    super(
      'WORKER_EXISTS',
      `a worker named "${name}" already exists with another image (${image})`,
      `Replace its image with --force (your edited config values are kept), or choose another name with --name.`,
    );
    this.workerName = name;
    this.image = image;
  }
}

/** An image declares more ENV entries than `worker add` copies into config.yaml. */
export class ImageEnvLimitError extends ConfigError {
  readonly image: string;
  readonly count: number;
  readonly limit: number;

  constructor(image: string, count: number, limit: number) {
    super(
      'IMAGE_ENV_LIMIT',
      `${image} declares ${count} environment variables, over the limit of ${limit}`,
      "iii copies an image's ENV into config.yaml; rebuild the image with fewer ENV entries (pass the rest as a file or in config:).",
    );
    this.image = image;
    this.count = count;
    this.limit = limit;
  }
}

/** A file is bigger than iii reads: config.yaml, iii.lock or an image's /iii/worker.yaml. */
export class FileTooLargeError extends ConfigError {
  readonly file: string;
  readonly size: number;
  readonly limit: number;

  /** `wouldBe`: the file was not written because it would have been this big. */
  constructor(file: string, size: number, limit: number, hint: string, wouldBe = false) {
    super(
      'FILE_TOO_LARGE',
      `${file} ${wouldBe ? 'would be' : 'is'} ${describeSize(size)}, over the limit of ${describeSize(limit)}`,
      hint,
    );
    this.file = file;
    this.size = size;
    this.limit = limit;
  }
}

function describeSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]} (${bytes} bytes)`;
}
