/**
 * @iii/templates: new worker projects (`iii init`) rendered from the templates of each language, and
 * worker images built from them with docker, podman or buildah (`iii worker build`).
 */
export {
  type BaseImageUse,
  dockerfileBaseImages,
  type PinBaseImagesOptions,
  type PinnedBase,
  type PinResult,
  pinBaseImages,
  setArgDefault,
  type UnpinnedBase,
} from './base-images.js';
export { type BuildImageOptions, type BuiltImage, buildImage } from './build/build-image.js';
export { type BuilderName, builderNames, isBuilderName } from './build/builder-name.js';
export { builtImageSource } from './build/built-image-source.js';
export {
  BuilderUnavailableError,
  BuildFailedError,
  DirectoryNotEmptyError,
  DockerfileNotFoundError,
  InvalidImageTagError,
  InvalidProjectNameError,
  InvalidSdkVersionError,
  LocalImageNotFoundError,
  NoBuilderError,
  NotADirectoryError,
  ProjectNotBuiltError,
  TemplateError,
  TemplatePlaceholderError,
  UnknownLanguageError,
} from './errors.js';
export {
  isTemplateLanguage,
  parseTemplateLanguage,
  type TemplateLanguage,
  templateLanguages,
} from './language.js';
export { type NextStepsOptions, nextSteps } from './next-steps.js';
export { type RenderOptions, type RenderResult, render } from './render.js';
