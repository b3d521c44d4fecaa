export { type BuildImageOptions, type BuiltImage, buildImage } from './build/build-image.js';
export {
  type BuilderCommand,
  type BuildOutput,
  type BuildPlan,
  builderCommands,
  builderOutput,
} from './build/build-plan.js';
export { type BuilderName, builderNames, isBuilderName } from './build/builder-name.js';
export { builtImageSource } from './build/built-image-source.js';
export { type DetectBuilderOptions, detectBuilder } from './build/detect-builder.js';
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
export { type ImageTag, parseImageTag } from './image-tag.js';
export {
  isTemplateLanguage,
  parseTemplateLanguage,
  type TemplateLanguage,
  templateLanguages,
} from './language.js';
export { type NextStepsOptions, nextSteps } from './next-steps.js';
export { type RenderOptions, type RenderResult, render } from './render.js';
export { templateDir } from './template-dir.js';
export { cratePackageName, npmPackageName, validateWorkerName } from './worker-name.js';
