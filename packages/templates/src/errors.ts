import { IiiError } from '@iii/base';

/**
 * Errors of this package carry a stable `code` (for programs) and a `hint` (what the user can do),
 * which the CLI prints as the second line of an error.
 */
export class TemplateError extends IiiError {}

export class InvalidProjectNameError extends TemplateError {
  constructor(name: string, reason: string) {
    super(
      'INVALID_WORKER_NAME',
      `invalid worker name "${name}": ${reason}`,
      'Use letters, digits, ".", "_" and "-" (no leading dot, no ".."), e.g. --name image-resize.',
    );
  }
}

export class UnknownLanguageError extends TemplateError {
  constructor(lang: string, known: readonly string[]) {
    super('UNKNOWN_LANGUAGE', `unknown template language "${lang}"`, `Choose one of: ${known.join(', ')}.`);
  }
}

export class DirectoryNotEmptyError extends TemplateError {
  constructor(dir: string) {
    super(
      'DIRECTORY_NOT_EMPTY',
      `directory ${dir} is not empty`,
      'Pick a new or empty directory, e.g. `iii init my-worker --lang node`.',
    );
  }
}

export class NotADirectoryError extends TemplateError {
  constructor(path: string) {
    super('NOT_A_DIRECTORY', `${path} exists and is not a directory`, 'Pick a new or empty directory.');
  }
}

export class TemplatePlaceholderError extends TemplateError {
  constructor(file: string, key: string) {
    super(
      'TEMPLATE_PLACEHOLDER',
      `template file ${file} uses the unknown placeholder {{${key}}}`,
      'This is a bug in the templates package; please report it.',
    );
  }
}

export class InvalidImageTagError extends TemplateError {
  constructor(tag: string, reason: string) {
    super(
      'INVALID_IMAGE_TAG',
      `invalid image reference "${tag}": ${reason}`,
      'Use [registry/]repository[:tag] in lower case, e.g. -t my-worker:0.1.0 or -t ghcr.io/me/my-worker:0.1.0.',
    );
  }
}

export class NoBuilderError extends TemplateError {
  constructor(detail: string) {
    super(
      'NO_IMAGE_BUILDER',
      `no image builder found: ${detail}`,
      'Install one of them: `apt-get install buildah` (or podman), or Docker (https://docs.docker.com/engine/install/) with its daemon running; or pick one with --builder.',
    );
  }
}

export class BuilderUnavailableError extends TemplateError {
  constructor(builder: string, reason: string, hint: string) {
    super('IMAGE_BUILDER_UNAVAILABLE', `${builder} cannot be used: ${reason}`, hint);
  }
}

export class DockerfileNotFoundError extends TemplateError {
  constructor(path: string) {
    super(
      'DOCKERFILE_NOT_FOUND',
      `no Dockerfile at ${path}`,
      'Run the command in a worker project (see `iii init`), or pass the project directory: `iii worker build <dir> -t ...`.',
    );
  }
}

export class BuildFailedError extends TemplateError {
  readonly exitCode: number | null;

  constructor(step: string, exitCode: number | null, hint: string) {
    super('IMAGE_BUILD_FAILED', `${step} failed${exitCode === null ? '' : ` (exit code ${exitCode})`}`, hint);
    this.exitCode = exitCode;
  }
}

export class ProjectNotBuiltError extends TemplateError {
  constructor(dir: string) {
    super(
      'PROJECT_NOT_BUILT',
      `the worker in ${dir} has not been built yet (no dist/ directory)`,
      'Run `npm install && npm run build` in the project first: the image takes the bundled dist/.',
    );
  }
}

export class LocalImageNotFoundError extends TemplateError {
  constructor(image: string) {
    super(
      'LOCAL_IMAGE_NOT_FOUND',
      `no local image ${image}`,
      'Build it with `iii worker build -t <name:tag>`, add it with `iii worker add`, or give oci-layout:<dir>, oci-archive:<file>, docker-archive:<file> or a path.',
    );
  }
}

export class InvalidSdkVersionError extends TemplateError {
  constructor(spec: string) {
    super(
      'INVALID_SDK_VERSION',
      `invalid @iii/sdk version "${spec}"`,
      'Give an npm version, range, tag or spec, e.g. ^0.1.0, latest or file:./iii-sdk-0.1.0.tgz.',
    );
  }
}
