import { IiiError } from '@iii/base';

/**
 * Errors of this package carry a stable `code` (for programs) and a `hint` (what the user can do),
 * which the CLI prints as the second line of an error.
 */
export class TemplateError extends IiiError {}

/** A worker (project) name `iii init` cannot use. */
export class InvalidProjectNameError extends TemplateError {
  constructor(name: string, reason: string) {
    super(
      'INVALID_WORKER_NAME',
      `invalid worker name "${name}": ${reason}`,
      'Use letters, digits, ".", "_" and "-" (no leading dot, no ".."), e.g. --name image-resize.',
    );
  }
}

/** A template language that does not exist. */
export class UnknownLanguageError extends TemplateError {
  constructor(lang: string, known: readonly string[]) {
    super('UNKNOWN_LANGUAGE', `unknown template language "${lang}"`, `Choose one of: ${known.join(', ')}.`);
  }
}

/** `iii init` into a directory that is not empty. */
export class DirectoryNotEmptyError extends TemplateError {
  constructor(dir: string) {
    super(
      'DIRECTORY_NOT_EMPTY',
      `directory ${dir} is not empty`,
      'Pick a new or empty directory, e.g. `iii init my-worker --lang node`.',
    );
  }
}

/** `iii init` into a path that is a file. */
export class NotADirectoryError extends TemplateError {
  constructor(path: string) {
    super('NOT_A_DIRECTORY', `${path} exists and is not a directory`, 'Pick a new or empty directory.');
  }
}

/** A template that uses a placeholder the renderer does not fill (a bug of the templates). */
export class TemplatePlaceholderError extends TemplateError {
  constructor(file: string, key: string) {
    super(
      'TEMPLATE_PLACEHOLDER',
      `template file ${file} uses the unknown placeholder {{${key}}}`,
      'This is a bug in the templates package; please report it.',
    );
  }
}

/** An image tag (`-t`) that is not `[registry/]repository[:tag]` in lower case. */
export class InvalidImageTagError extends TemplateError {
  constructor(tag: string, reason: string) {
    super(
      'INVALID_IMAGE_TAG',
      `invalid image reference "${tag}": ${reason}`,
      'Use [registry/]repository[:tag] in lower case, e.g. -t my-worker:0.1.0 or -t ghcr.io/me/my-worker:0.1.0.',
    );
  }
}

/** No image builder (docker, podman, buildah) is installed and usable. */
export class NoBuilderError extends TemplateError {
  constructor(detail: string) {
    super(
      'NO_IMAGE_BUILDER',
      `no image builder found: ${detail}`,
      'Install one of them: `apt-get install buildah` (or podman), or Docker (https://docs.docker.com/engine/install/) with its daemon running; or pick one with --builder.',
    );
  }
}

/** The builder asked for cannot be used here, and why. */
export class BuilderUnavailableError extends TemplateError {
  constructor(builder: string, reason: string, hint: string) {
    super('IMAGE_BUILDER_UNAVAILABLE', `${builder} cannot be used: ${reason}`, hint);
  }
}

/** A project without its Dockerfile. */
export class DockerfileNotFoundError extends TemplateError {
  constructor(path: string) {
    super(
      'DOCKERFILE_NOT_FOUND',
      `no Dockerfile at ${path}`,
      'Run the command in a worker project (see `iii init`), or pass the project directory: `iii worker build <dir> -t ...`.',
    );
  }
}

/** A build step (the project build or the image build) exited with an error. */
export class BuildFailedError extends TemplateError {
  readonly exitCode: number | null;

  constructor(step: string, exitCode: number | null, hint: string) {
    super('IMAGE_BUILD_FAILED', `${step} failed${exitCode === null ? '' : ` (exit code ${exitCode})`}`, hint);
    this.exitCode = exitCode;
  }
}

/** A Node project whose `dist/` has not been built, which its image needs. */
export class ProjectNotBuiltError extends TemplateError {
  constructor(dir: string) {
    super(
      'PROJECT_NOT_BUILT',
      `the worker in ${dir} has not been built yet (no dist/ directory)`,
      'Run `npm install && npm run build` in the project first: the image takes the bundled dist/.',
    );
  }
}

/** `iii worker push` of a local image that is not there. */
export class LocalImageNotFoundError extends TemplateError {
  constructor(image: string) {
    super(
      'LOCAL_IMAGE_NOT_FOUND',
      `no local image ${image}`,
      'Build it with `iii worker build -t <name:tag>`, add it with `iii worker add`, or give oci-layout:<dir>, oci-archive:<file>, docker-archive:<file> or a path.',
    );
  }
}

/** An `--sdk-version` that is not an npm version, range, tag or spec. */
export class InvalidSdkVersionError extends TemplateError {
  constructor(spec: string) {
    super(
      'INVALID_SDK_VERSION',
      `invalid @iii/sdk version "${spec}"`,
      'Give an npm version, range, tag or spec, e.g. ^0.1.0, latest or file:./iii-sdk-0.1.0.tgz.',
    );
  }
}
