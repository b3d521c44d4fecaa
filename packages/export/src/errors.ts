import { IiiError } from '@iii/base';

/**
 * Every error of this package carries a stable `code` (for programs) and a `hint` (for people),
 * so the CLI renders any of them as one line of what went wrong and one line of what to do.
 */
export class ExportError extends IiiError {}

/** A worker name that no DNS-1123 label can stand for. */
export class UnmappableNameError extends ExportError {
  constructor(worker: string, reason: string) {
    super(
      'UNMAPPABLE_WORKER_NAME',
      `worker "${worker}" cannot be named in Kubernetes: ${reason}`,
      'Rename it in config.yaml to at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit.',
    );
  }
}

/** Two workers whose names map to the same object name. */
export class NameCollisionError extends ExportError {
  constructor(name: string, workers: readonly string[]) {
    super(
      'NAME_COLLISION',
      `workers ${workers.map((w) => `"${w}"`).join(' and ')} would both be named "${name}"`,
      'Rename one of them in config.yaml so their names differ in more than case, "_" and ".".',
    );
  }
}

/** Images a cluster cannot pull: they exist on this machine only. */
export class LocalImagesError extends ExportError {
  readonly workers: readonly { name: string; image: string }[];

  constructor(workers: readonly { name: string; image: string }[]) {
    const list = workers.map((w) => `${w.name} (${w.image})`).join(', ');
    super(
      'LOCAL_IMAGES',
      `${workers.length === 1 ? 'worker' : 'workers'} ${list} ${workers.length === 1 ? 'uses an image' : 'use images'} on this machine only, which a cluster cannot pull`,
      'Push them with `iii worker push <image> <registry/repository:tag>` and `iii worker add` the pushed reference, or export with `--push-to <registry/prefix>` to push them and use the pushed digests.',
    );
    this.workers = workers;
  }
}

/** The pinned image of a worker is not in the local store, so its config (ENV, ENTRYPOINT) is unknown. */
export class ImageNotInStoreError extends ExportError {
  constructor(worker: string, digest: string) {
    super(
      'IMAGE_NOT_IN_STORE',
      `the image of worker "${worker}" (${digest}) is not in the image store`,
      'Fetch the pinned images with `iii worker sync`, then export again.',
    );
  }
}

/** Neither an engine image to run nor an engine to dial. */
export class NoEngineError extends ExportError {
  constructor() {
    super(
      'NO_ENGINE',
      'the workers need an engine: give --engine-image <ref> to run one, or --engine-url <ws://...> to use one that already runs',
      'Build the engine image from the CLI Dockerfile with `iii worker build`, push it, and pass it as --engine-image.',
    );
  }
}

/** An `--engine-url` that is not a `ws://` or `wss://` address. */
export class InvalidEngineUrlError extends ExportError {
  constructor(url: string) {
    super(
      'INVALID_ENGINE_URL',
      `--engine-url ${url} is not a ws:// or wss:// address`,
      'Give the address workers dial, for example ws://iii.example.com:49134.',
    );
  }
}

/** A config key that Kubernetes cannot take as the key of a Secret. */
export class UnmappableKeyError extends ExportError {
  constructor(worker: string, key: string) {
    super(
      'UNMAPPABLE_KEY',
      `worker "${worker}": variable ${key} is filled from \${VAR} but cannot be a Secret key (only letters, digits, "-", "_" and ".")`,
      'Rename the key in config.yaml, or export with --inline-env.',
    );
  }
}

/** `-o` names something that cannot be written. */
export class OutputError extends ExportError {
  constructor(path: string, reason: string) {
    super('OUTPUT', `cannot write ${path}: ${reason}`, 'Give -o a file, or a directory that exists.');
  }
}
